// The worker's upstream side: answers over UDP and over upstream connections, truncated answers
// asked again over TCP, timeouts and health checks.

#include <algorithm>

#include "dns/response.hpp"
#include "proxy/worker.hpp"

namespace dnsfence::proxy {
namespace {

std::uint16_t get_id(std::span<const std::uint8_t> p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

void set_id(std::span<std::uint8_t> packet, std::uint16_t id) noexcept {
  packet[0] = static_cast<std::uint8_t>(id >> 8);
  packet[1] = static_cast<std::uint8_t>(id);
}

// "id.server. CH TXT": answered by every resolver from local data (or refused, which is an answer
// too), so probing never triggers recursion.
constexpr std::array<std::uint8_t, 27> kProbe = {0,   0, 0,   0,   0,   1,   0,   0,   0, 0, 0,  0, 2, 'i',
                                                 'd', 6, 's', 'e', 'r', 'v', 'e', 'r', 0, 0, 16, 0, 3};

}  // namespace

void Worker::on_upstream_answers(std::uint16_t socket) noexcept {
  for (int b = 0; b < 8; ++b) {
    // An answer may release the last query of a retired socket, which then closes.
    const int fd = sockets_.fd(socket);
    if (fd < 0) break;
    const std::size_t n = recv_->recv(fd);
    for (std::size_t i = 0; i < n; ++i) handle_answer(socket, recv_->data(i), recv_->peer(i), recv_->truncated(i));
    flush();
    if (n < io::kBatch) break;
  }
}

void Worker::handle_answer(std::uint16_t socket, std::span<std::uint8_t> data, const common::SocketAddress& from,
                           bool truncated) noexcept {
  if (data.size() < dns::kHeaderSize) {
    stats_.malformed.add();
    return;
  }
  const auto s = table_.find(get_id(data));
  // Only the server we asked, on the socket we asked from, may answer; anything else is dropped
  // (a spoofing attempt, or a late answer to a query that already timed out). A slot waiting
  // over TCP takes no UDP answer.
  if (!s || !table_[*s].on_udp_socket || table_[*s].socket != socket || !(target(table_[*s]) == from)) {
    stats_.answers_dropped.add();
    return;
  }
  Slot& slot = table_[*s];
  if (truncated) {
    // Larger than serve can receive although the query said so (clamp_udp_size): the same
    // question goes over TCP; otherwise keep waiting.
    if (slot.kind == SlotKind::Udp && retry_tcp(*s)) {
      stats_.tcp_retries.add();
    } else {
      stats_.malformed.add();
    }
    return;
  }
  auto answer = dns::parse(data);
  if (!answer) {
    stats_.malformed.add();  // keep waiting: the genuine answer may still come
    return;
  }
  if (!answer->header().has(dns::flag::QR) || !same_question(slot, *answer)) {
    stats_.answers_dropped.add();
    return;
  }
  if (slot.upstream != kPassUpstream) pool_.answered(slot.upstream);
  if (slot.kind == SlotKind::Probe) {
    pool_.probe_done(slot.upstream);
    release(*s);
    return;
  }
  // Truncated: ask the same server over TCP in the same slot; the full answer goes to the client
  // (cut to its size if it must be). If no connection can take it, relay the truncated answer.
  if (retry_over_tcp(slot, *answer) && retry_tcp(*s)) {
    stats_.tcp_retries.add();
    return;
  }
  accept_answer(*s, data);
}

void Worker::on_stream_answer(std::uint32_t conn, std::span<std::uint8_t> data) noexcept {
  if (data.size() < dns::kHeaderSize) {
    stats_.malformed.add();
    return;
  }
  const auto s = table_.find(get_id(data));
  if (!s || !table_[*s].on_stream || table_[*s].tcp_upstream != conn) {
    stats_.answers_dropped.add();
    return;
  }
  auto answer = dns::parse(data);
  if (!answer || !answer->header().has(dns::flag::QR) || !same_question(table_[*s], *answer)) {
    stats_.answers_dropped.add();
    return;
  }
  if (table_[*s].upstream != kPassUpstream) pool_.answered(table_[*s].upstream);
  accept_answer(*s, data);
}

void Worker::accept_answer(std::uint32_t s, std::span<std::uint8_t> answer) noexcept {
  Slot& slot = table_[s];
  stats_.observe_latency(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ - slot.sent_ns) / 1000));
  set_id(answer, slot.client_id);
  deliver(slot, answer);
  release(s);
}

bool Worker::retry_tcp(std::uint32_t s) noexcept {
  Slot& slot = table_[s];
  std::array<std::uint8_t, dns::kHeaderSize + dns::kMaxNameLength + 4 + 11> query{};
  const std::size_t n = build_retry_query(slot, query);
  if (n == 0 || !streams_.send(s, target(slot), std::span<const std::uint8_t>(query.data(), n), now_)) return false;
  slot.kind = SlotKind::UdpOverTcp;
  if (slot.on_udp_socket) {  // no UDP answer is taken any more
    sockets_.done(slot.socket);
    slot.on_udp_socket = false;
  }
  return true;
}

void Worker::deliver(Slot& slot, std::span<std::uint8_t> answer) noexcept {
  switch (slot.kind) {
    case SlotKind::Tcp:
      tcp_.reply({slot.tcp_connection, slot.tcp_generation}, answer);
      break;
    case SlotKind::UdpOverTcp:
      if (const std::size_t fitted = fit_udp_client(slot, answer); fitted > 0) send_udp(slot, answer.first(fitted));
      break;
    case SlotKind::Udp:
      send_udp(slot, answer);
      break;
    case SlotKind::Probe:
      break;
  }
}

void Worker::release(std::uint32_t s) noexcept {
  Slot& slot = table_[s];
  if (slot.on_udp_socket) {
    sockets_.done(slot.socket);
    slot.on_udp_socket = false;
  }
  if (slot.on_stream) streams_.forget(s);
  table_.release(s);
}

void Worker::expire(std::int64_t now) noexcept {
  while (auto s = table_.expired(now)) {
    Slot& slot = table_[*s];
    if (slot.upstream != kPassUpstream) {
      pool_.timed_out(slot.upstream);
      stats_.upstream_timeouts[slot.upstream].add();
    }
    if (slot.kind == SlotKind::Probe) {
      pool_.probe_done(slot.upstream);
    } else if (slot.kind == SlotKind::Tcp) {
      stats_.count(dns::Transport::Tcp, Action::Timeout, static_cast<policy::DestinationClass>(slot.destination));
      const std::size_t n = build_servfail(slot, dns::Transport::Tcp, scratch_);
      const io::TcpConnRef conn{slot.tcp_connection, slot.tcp_generation};
      if (n > 0) {
        tcp_.reply(conn, std::span<const std::uint8_t>(scratch_.data(), n));
      } else {
        tcp_.finish(conn);
      }
    } else {
      stats_.count(dns::Transport::Udp, Action::Timeout, static_cast<policy::DestinationClass>(slot.destination));
      const std::size_t n = build_servfail(slot, dns::Transport::Udp, std::span<std::uint8_t>(scratch_.data(), 512));
      if (n > 0) send_udp(slot, std::span<const std::uint8_t>(scratch_.data(), n));
    }
    release(*s);
  }
}

bool Worker::send_probe(std::uint8_t upstream) noexcept {
  auto s = table_.acquire(random(), now_, now_ + config_.upstream_timeout.count() * 1'000'000);
  if (!s) return false;
  Slot& slot = table_[*s];
  slot.kind = SlotKind::Probe;
  slot.upstream = upstream;
  if (auto probe = dns::parse(kProbe)) store_question(slot, *probe);
  if (!send_upstream_udp(*s, kProbe, nullptr)) {
    release(*s);
    return false;
  }
  return true;
}

}  // namespace dnsfence::proxy
