#include "proxy/upstream_streams.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>

namespace dnsfence::proxy {

UpstreamStreams::UpstreamStreams(io::Poller& poller, std::uint8_t kind, InflightTable& table, StreamOwner& owner)
    : poller_(poller), kind_(kind), table_(table), owner_(owner) {
  conns_.reserve(kMaxConnections);  // never reallocated: references stay valid across callbacks
}

std::int64_t UpstreamStreams::pick(const common::SocketAddress& target, bool any) noexcept {
  // The first connection with room: queries fill one connection before another is opened. With
  // `any`, the least loaded one (every connection allowed is open and holds its share).
  std::int64_t best = -1;
  for (std::uint32_t i = 0; i < conns_.size(); ++i) {
    const Conn& c = conns_[i];
    if (!c.fd.valid() || !(c.target == target)) continue;
    if (!any && c.slots.size() < kPerConnection) return i;
    if (any && (best < 0 || c.slots.size() < conns_[static_cast<std::size_t>(best)].slots.size())) best = i;
  }
  return best;
}

std::int64_t UpstreamStreams::connect(const common::SocketAddress& target, std::int64_t now_ns) noexcept {
  if (open_ >= kMaxConnections) return -1;
  std::uint32_t to_target = 0;
  for (const Conn& c : conns_) to_target += c.fd.valid() && c.target == target ? 1 : 0;
  if (to_target >= kPerTarget) return -1;
  auto fd = io::connect_tcp(target);
  if (!fd) return -1;
  std::uint32_t i = 0;
  try {
    if (free_.empty()) {
      conns_.emplace_back();
      conns_.back().slots.reserve(kPerConnection);
      i = static_cast<std::uint32_t>(conns_.size() - 1);
    } else {
      i = free_.back();
      free_.pop_back();
    }
  } catch (...) {
    return -1;
  }
  Conn& c = conns_[i];
  c.fd = std::move(*fd);
  c.target = target;
  c.connected = false;
  c.last_used_ns = now_ns;
  c.events = EPOLLOUT;  // writable once the connection is established (or has failed)
  poller_.add(c.fd.get(), io::tag(kind_, i), c.events);
  ++open_;
  return i;
}

bool UpstreamStreams::send(std::uint32_t slot, const common::SocketAddress& target, std::span<const std::uint8_t> query,
                           std::int64_t now_ns) noexcept {
  Slot& s = table_[slot];
  std::int64_t i = pick(target, false);
  if (i < 0) i = connect(target, now_ns);
  if (i < 0) i = pick(target, true);  // all the connections allowed are open and busy: share them
  if (i < 0) return false;
  Conn& c = conns_[static_cast<std::size_t>(i)];
  // Until the connection is established the query waits in its buffer.
  const io::IoStatus st =
      c.connected ? c.out.send(c.fd.get(), query) : (c.out.queue(query) ? io::IoStatus::Again : io::IoStatus::Error);
  if (st == io::IoStatus::Error) {
    if (c.connected) fail(static_cast<std::uint32_t>(i), now_ns);
    return false;
  }
  c.slots.push_back(slot);
  c.last_used_ns = now_ns;
  s.on_stream = true;
  s.tcp_upstream = static_cast<std::uint32_t>(i);
  if (c.connected && c.out.queued() > 0) set_events(static_cast<std::uint32_t>(i), EPOLLIN | EPOLLOUT);
  return true;
}

void UpstreamStreams::forget(std::uint32_t slot) noexcept {
  Slot& s = table_[slot];
  if (!s.on_stream) return;
  s.on_stream = false;
  if (s.tcp_upstream >= conns_.size()) return;
  auto& slots = conns_[s.tcp_upstream].slots;
  if (auto it = std::find(slots.begin(), slots.end(), slot); it != slots.end()) {
    *it = slots.back();
    slots.pop_back();
  }
}

void UpstreamStreams::on_event(std::uint32_t index, std::uint32_t events, std::int64_t now_ns) noexcept {
  if (index >= conns_.size() || !conns_[index].fd.valid()) return;
  Conn& c = conns_[index];
  if (!c.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      fail(index, now_ns);
      return;
    }
    c.connected = true;
  }
  if ((events & EPOLLOUT) != 0) {
    if (c.out.flush(c.fd.get()) == io::IoStatus::Error) {
      fail(index, now_ns);
      return;
    }
    set_events(index, c.out.queued() > 0 ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) {
    read_answers(index);
    if (conns_[index].fd.valid() && !conns_[index].connected) fail(index, now_ns);  // closed by the server
    if (conns_[index].fd.valid()) conns_[index].last_used_ns = now_ns;
  }
}

void UpstreamStreams::read_answers(std::uint32_t index) noexcept {
  Conn& c = conns_[index];
  try {
    if (scratch_.empty()) scratch_.resize(io::kScratchSize);
  } catch (...) {
    return;  // out of memory: the answers wait in the socket
  }
  for (int reads = 0; reads < 4; ++reads) {
    const std::size_t kept = c.in.restore(scratch_);
    const auto r = io::read_some(c.fd.get(), std::span(scratch_).subspan(kept, io::kReadChunk));
    if (r.status == io::IoStatus::Again) return;
    if (r.status != io::IoStatus::Ok) {
      c.connected = false;  // end of stream or error: on_event fails it
      return;
    }
    auto data = std::span(scratch_).first(kept + r.bytes);
    std::size_t offset = 0;
    while (auto answer = io::next_message(data, offset)) owner_.on_stream_answer(index, *answer);
    if (!c.in.keep(data.subspan(offset))) {
      c.connected = false;
      return;
    }
    if (r.bytes < io::kReadChunk) return;
  }
}

void UpstreamStreams::set_events(std::uint32_t index, std::uint32_t events) noexcept {
  Conn& c = conns_[index];
  if (c.events == events) return;
  c.events = events;
  poller_.modify(c.fd.get(), io::tag(kind_, index), events);
}

void UpstreamStreams::fail(std::uint32_t index, std::int64_t now_ns) noexcept {
  // The queries it still owes go once more on another connection; the rest wait for their
  // deadlines (the worker's SERVFAIL), as a query sent again is not sent a third time.
  std::vector<std::uint32_t> orphans;
  orphans.swap(conns_[index].slots);
  const common::SocketAddress target = conns_[index].target;  // they go again to the same server
  close(index);
  for (const std::uint32_t s : orphans) {
    Slot& slot = table_[s];
    slot.on_stream = false;
    if (!slot.used || slot.resent) {
      owner_.on_stream_lost(s);
      continue;
    }
    slot.resent = true;
    std::array<std::uint8_t, dns::kHeaderSize + dns::kMaxNameLength + 4 + 11> query{};
    const std::size_t n = build_retry_query(slot, query);
    if (n == 0 || !send(s, target, std::span(query).first(n), now_ns)) owner_.on_stream_lost(s);
  }
  // Keep the (emptied) vector's capacity for the slot's next connection.
  orphans.clear();
  if (conns_[index].slots.capacity() == 0) conns_[index].slots.swap(orphans);
}

void UpstreamStreams::close(std::uint32_t index) noexcept {
  Conn& c = conns_[index];
  if (!c.fd.valid()) return;
  c.fd.reset();
  c.in.release();
  c.out.release();
  c.connected = false;
  c.events = 0;
  free_.push_back(index);
  --open_;
}

void UpstreamStreams::tick(std::int64_t now_ns) noexcept {
  for (std::uint32_t i = 0; i < conns_.size(); ++i) {
    const Conn& c = conns_[i];
    if (c.fd.valid() && c.slots.empty() && now_ns - c.last_used_ns > kIdleNs) close(i);
  }
}

}  // namespace dnsfence::proxy
