#include "proxy/tcp_server.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "proxy/worker.hpp"

namespace dnsfence::proxy {
namespace {

constexpr std::size_t kFrame = 2 + 65535;

std::uint64_t pack(std::uint8_t kind, std::uint32_t index) noexcept {
  return (static_cast<std::uint64_t>(kind) << 32) | index;
}

void append_framed(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> message, std::uint16_t id) {
  const std::size_t at = out.size();
  out.resize(at + 2 + message.size());
  out[at] = static_cast<std::uint8_t>(message.size() >> 8);
  out[at + 1] = static_cast<std::uint8_t>(message.size());
  std::memcpy(out.data() + at + 2, message.data(), message.size());
  out[at + 2] = static_cast<std::uint8_t>(id >> 8);
  out[at + 3] = static_cast<std::uint8_t>(id);
}

std::uint16_t id_of(std::span<const std::uint8_t> m) noexcept {
  return static_cast<std::uint16_t>((m[0] << 8) | m[1]);
}

}  // namespace

TcpServer::TcpServer(Worker& worker, std::uint32_t max_connections)
    : worker_(worker), max_connections_(std::max<std::uint32_t>(1, max_connections)) {
  clients_.reserve(max_connections_);
}

void TcpServer::set_events(int fd, std::uint64_t data, std::uint32_t events) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  epoll_ctl(worker_.epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void TcpServer::accept(std::uint8_t listener) noexcept {
  const auto& l = worker_.tcp_listeners_[listener];
  for (;;) {
    io::Fd fd(accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) return;
    if (open_clients_ >= max_connections_) {
      worker_.stats_.tcp_refused.add();
      continue;  // closed by Fd's destructor
    }
    std::uint32_t index = 0;
    if (!free_clients_.empty()) {
      index = free_clients_.back();
      free_clients_.pop_back();
    } else {
      index = static_cast<std::uint32_t>(clients_.size());
      clients_.emplace_back();
    }
    Client& c = clients_[index];
    c.fd = std::move(fd);
    ++c.generation;
    c.in.resize(kFrame);
    c.in_length = 0;
    c.out.clear();
    c.out_sent = 0;
    c.created_ns = c.active_ns = now_ns();
    c.pending = 0;
    c.read_closed = c.want_write = false;
    c.original.reset();
    // A transparent connection's local address is the resolver the client asked.
    if (l.transparent)
      if (auto local = io::local_address(c.fd.get())) {
        c.original = local->ip();
        c.original_port = local->port();
      }
    ++open_clients_;
    worker_.stats_.tcp_connections.set(open_clients_);
    worker_.add_epoll(c.fd.get(), Worker::Kind::TcpClient, index, EPOLLIN | EPOLLRDHUP);
  }
}

void TcpServer::on_client(std::uint32_t index, std::uint32_t events) noexcept {
  if (index >= clients_.size() || !clients_[index].fd.valid()) return;
  if ((events & EPOLLOUT) != 0) write_client(index);
  if (!clients_[index].fd.valid()) return;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) read_client(index);
}

void TcpServer::read_client(std::uint32_t index) noexcept {
  Client& c = clients_[index];
  for (;;) {
    const ssize_t n = read(c.fd.get(), c.in.data() + c.in_length, c.in.size() - c.in_length);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      c.read_closed = true;
      break;
    }
    if (n < 0) break;
    c.in_length += static_cast<std::size_t>(n);
    c.active_ns = now_ns();
    // Every complete message in the buffer: pipelined queries are all handled at once.
    std::size_t at = 0;
    while (c.in_length - at >= 2) {
      const std::size_t len = (static_cast<std::size_t>(c.in[at]) << 8) | c.in[at + 1];
      if (c.in_length - at - 2 < len) break;
      handle_query(index, std::span<std::uint8_t>(c.in.data() + at + 2, len));
      if (!c.fd.valid()) return;
      at += 2 + len;
    }
    std::memmove(c.in.data(), c.in.data() + at, c.in_length - at);
    c.in_length -= at;
  }
  write_client(index);
  if (c.fd.valid() && c.read_closed && c.pending == 0 && c.out_sent == c.out.size()) close_client(index);
}

void TcpServer::handle_query(std::uint32_t index, std::span<std::uint8_t> query) noexcept {
  Client& c = clients_[index];
  auto& w = worker_;
  Query q{query, dns::Transport::Tcp, c.original};
  Reply r{std::span<std::uint8_t>(w.scratch_.data(), w.scratch_.size())};
  const Decision d = w.pipeline_.handle(q, r);
  if (w.reports_ != nullptr) w.reports_->offer(q, d);
  w.stats_.count(dns::Transport::Tcp, d.action, d.destination);
  if (w.config_.debug_log) w.debug_log(d, dns::Transport::Tcp);
  if (d.rule != nullptr && d.rule->index < kMaxRuleCounters) w.stats_.rule_hits[d.rule->index].add();
  if (d.verdict == Verdict::Forward) {
    std::optional<io::Peer> original;
    if (c.original) original = io::Peer::from(common::SocketAddress(*c.original, c.original_port));
    if (auto s = w.start_forward(d, original, now_ns())) {
      Slot& slot = w.table_[*s];
      slot.kind = SlotKind::Tcp;
      slot.tcp_connection = index;
      slot.tcp_generation = c.generation;
      if (forward(*s, query)) {
        ++c.pending;
        return;
      }
      w.table_.release(*s);
    }
    if (w.config_.when_full == common::WhenFull::Drop) return;
    w.stats_.count(dns::Transport::Tcp, Action::Full, d.destination);
    r.size = build_servfail(*d.message, dns::Transport::Tcp, r.buffer);
  }
  if (d.verdict == Verdict::Drop || r.size == 0) return;
  append_framed(c.out, std::span<const std::uint8_t>(r.buffer.data(), r.size),
                d.message ? d.message->header().id : id_of(r.buffer));
}

bool TcpServer::forward(std::uint32_t slot_index, std::span<const std::uint8_t> query) noexcept {
  Slot& slot = worker_.table_[slot_index];
  auto fd = io::connect_tcp(*common::SocketAddress::from_sockaddr(
      reinterpret_cast<const sockaddr*>(&slot.target.sa),
      slot.target.sa.sin6_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
  if (!fd) return false;
  std::uint32_t u = 0;
  if (!free_upstreams_.empty()) {
    u = free_upstreams_.back();
    free_upstreams_.pop_back();
  } else {
    u = static_cast<std::uint32_t>(upstreams_.size());
    upstreams_.emplace_back();
  }
  Upstream& up = upstreams_[u];
  up.fd = std::move(*fd);
  up.slot = slot_index;
  up.out.clear();
  up.out_sent = 0;
  up.in.resize(kFrame);
  up.in_length = 0;
  append_framed(up.out, query, slot.upstream_id);
  slot.tcp_upstream = u;
  worker_.add_epoll(up.fd.get(), Worker::Kind::TcpUpstream, u, EPOLLIN | EPOLLOUT);
  return true;
}

void TcpServer::write_client(std::uint32_t index) noexcept {
  Client& c = clients_[index];
  while (c.out_sent < c.out.size()) {
    const ssize_t n = send(c.fd.get(), c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      close_client(index);
      return;
    }
    c.out_sent += static_cast<std::size_t>(n);
  }
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
  }
  const bool want = c.out_sent < c.out.size();
  if (want != c.want_write) {
    c.want_write = want;
    set_events(c.fd.get(), pack(static_cast<std::uint8_t>(Worker::Kind::TcpClient), index),
               EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0U));
  }
}

void TcpServer::reply(std::uint32_t index, std::uint32_t generation, std::span<const std::uint8_t> answer) noexcept {
  if (index >= clients_.size()) return;
  Client& c = clients_[index];
  if (!c.fd.valid() || c.generation != generation) return;  // the client left
  if (c.pending > 0) --c.pending;
  append_framed(c.out, answer, id_of(answer));
  c.active_ns = now_ns();
  write_client(index);
  if (c.fd.valid() && c.read_closed && c.pending == 0 && c.out.empty()) close_client(index);
}

void TcpServer::close_client(std::uint32_t index) noexcept {
  Client& c = clients_[index];
  if (!c.fd.valid()) return;
  c.fd.reset();  // closing removes it from epoll
  ++c.generation;
  free_clients_.push_back(index);
  --open_clients_;
  worker_.stats_.tcp_connections.set(open_clients_);
}

void TcpServer::close_upstream(std::uint32_t index) noexcept {
  Upstream& u = upstreams_[index];
  if (!u.fd.valid()) return;
  u.fd.reset();
  free_upstreams_.push_back(index);
}

void TcpServer::on_upstream(std::uint32_t index, std::uint32_t events) noexcept {
  if (index >= upstreams_.size() || !upstreams_[index].fd.valid()) return;
  Upstream& u = upstreams_[index];
  if ((events & EPOLLERR) != 0) {
    close_upstream(index);  // the query's deadline answers the client
    return;
  }
  while ((events & EPOLLOUT) != 0 && u.out_sent < u.out.size()) {
    const ssize_t n = send(u.fd.get(), u.out.data() + u.out_sent, u.out.size() - u.out_sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      close_upstream(index);
      return;
    }
    u.out_sent += static_cast<std::size_t>(n);
  }
  if (u.out_sent == u.out.size() && (events & EPOLLOUT) != 0)
    set_events(u.fd.get(), pack(static_cast<std::uint8_t>(Worker::Kind::TcpUpstream), index), EPOLLIN);
  if ((events & (EPOLLIN | EPOLLHUP)) != 0) answer_from_upstream(index);
}

void TcpServer::answer_from_upstream(std::uint32_t index) noexcept {
  Upstream& u = upstreams_[index];
  for (;;) {
    const ssize_t n = read(u.fd.get(), u.in.data() + u.in_length, u.in.size() - u.in_length);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_upstream(index);
      return;
    }
    u.in_length += static_cast<std::size_t>(n);
    if (u.in_length < 2) continue;
    const std::size_t len = (static_cast<std::size_t>(u.in[0]) << 8) | u.in[1];
    if (u.in_length < 2 + len) continue;
    auto& w = worker_;
    const std::uint32_t s = u.slot;
    std::span<std::uint8_t> answer(u.in.data() + 2, len);
    auto m = dns::parse(answer);
    Slot& slot = w.table_[s];
    const bool tcp_kind = slot.kind == SlotKind::Tcp || slot.kind == SlotKind::UdpOverTcp;
    if (!slot.used || !tcp_kind || slot.tcp_upstream != index || len < dns::kHeaderSize ||
        id_of(answer) != slot.upstream_id || !m || !same_question(slot, *m)) {
      w.stats_.answers_dropped.add();
    } else {
      if (slot.upstream != kPassUpstream) w.pool_.answered(slot.upstream);
      w.stats_.observe_latency(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns() - slot.sent_ns) / 1000));
      answer[0] = static_cast<std::uint8_t>(slot.client_id >> 8);
      answer[1] = static_cast<std::uint8_t>(slot.client_id);
      if (slot.kind == SlotKind::Tcp) {
        reply(slot.tcp_connection, slot.tcp_generation, answer);
      } else if (const std::size_t fitted = fit_udp_client(slot, answer); fitted > 0) {
        w.send_udp(slot.listener, slot, answer.first(fitted));
      }
      w.table_.release(s);
    }
    close_upstream(index);
    return;
  }
}

void TcpServer::close_upstream_of(std::uint32_t s) noexcept {
  const std::uint32_t u = worker_.table_[s].tcp_upstream;
  if (u < upstreams_.size() && upstreams_[u].fd.valid() && upstreams_[u].slot == s) close_upstream(u);
}

bool TcpServer::retry(std::uint32_t s) noexcept {
  Slot& slot = worker_.table_[s];
  std::array<std::uint8_t, dns::kHeaderSize + dns::kMaxNameLength + 4 + 11> query{};
  const std::size_t n = build_retry_query(slot, query);
  if (n == 0 || !forward(s, std::span<const std::uint8_t>(query.data(), n))) return false;
  slot.kind = SlotKind::UdpOverTcp;
  return true;
}

void TcpServer::timed_out(std::uint32_t s) noexcept {
  Slot& slot = worker_.table_[s];
  close_upstream_of(s);
  const std::size_t n = build_servfail(slot, dns::Transport::Tcp, worker_.scratch_);
  if (n > 0) reply(slot.tcp_connection, slot.tcp_generation, std::span<const std::uint8_t>(worker_.scratch_.data(), n));
}

void TcpServer::tick(std::int64_t now) noexcept {
  const std::int64_t idle = worker_.config_.tcp_idle_timeout.count() * 1'000'000;
  const std::int64_t total = worker_.config_.tcp_total_timeout.count() * 1'000'000;
  for (std::uint32_t i = 0; i < clients_.size(); ++i) {
    const Client& c = clients_[i];
    if (!c.fd.valid()) continue;
    const bool is_idle = c.pending == 0 && c.out.empty() && now - c.active_ns > idle;
    if (is_idle || now - c.created_ns > total) close_client(i);
  }
}

}  // namespace dnsfence::proxy
