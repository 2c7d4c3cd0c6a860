#include "witness/server.hpp"

#include "witness/udp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <queue>
#include <system_error>
#include <unordered_map>

namespace dnsfence::witness {
namespace {

using Steady = std::chrono::steady_clock;
constexpr std::size_t kMaxMessage = 65535;
constexpr int kUdpBurst = 64;  // datagrams per socket per wake-up, so TCP is never starved

int open_socket(const common::SocketAddress& e, int type) {
  const int fd = ::socket(e.ip().family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const auto fail = [&](const char* what) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw std::system_error(err, std::generic_category(), std::string(what) + " " + e.to_string());
  };
  if (fd < 0) fail("socket");
  const int one = 1;
  if (!e.ip().is_v4() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) fail("IPV6_V6ONLY");
  if (type == SOCK_STREAM && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) fail("SO_REUSEADDR");
  sockaddr_storage ss{};
  const socklen_t len = e.to_sockaddr(ss);
  if (type == SOCK_DGRAM && !enable_pktinfo(fd, !e.ip().is_v4())) fail("IP_PKTINFO");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) fail("bind");
  if (type == SOCK_STREAM && ::listen(fd, 64) != 0) fail("listen");
  return fd;
}

}  // namespace

WitnessMetrics::WitnessMetrics(common::Registry& r) {
  for (std::size_t i = 0; i < kOutcomeCount; ++i) {
    const std::string outcome(outcome_name(static_cast<Outcome>(i)));
    queries[i] = &r.counter("dnsfence_witness_queries_total", "DNS queries by outcome", {{"outcome", outcome}});
  }
  records_dropped = &r.counter("dnsfence_witness_records_dropped_total",
                               "Probe queries not recorded because the run holds max_resolvers_per_run");
  delays_dropped = &r.counter("dnsfence_witness_delays_dropped_total",
                              "Delayed replies not sent because max_pending_delays were waiting");
  tcp_refused = &r.counter("dnsfence_witness_tcp_refused_total",
                           "TCP connections closed at once because max_tcp_connections were open");
  out_of_memory =
      &r.counter("dnsfence_witness_out_of_memory_total", "Packets or connections dropped because memory ran out");
  records_lost = &r.counter("dnsfence_witness_records_lost_total",
                            "Probe queries of a live run not stored because the store's buffer was full");
  rrl_slipped = &r.counter("dnsfence_witness_rrl_slipped_total", "UDP answers over the rate limit sent truncated");
  rrl_dropped = &r.counter("dnsfence_witness_rrl_dropped_total", "UDP answers over the rate limit not sent");
  runs_active = &r.gauge("dnsfence_witness_runs_active", "Runs alive (not expired)");
  runs_created = &r.counter("dnsfence_witness_runs_created_total", "Runs created through the API");
  runs_refused = &r.counter("dnsfence_witness_runs_refused_total", "Run creations refused: max_runs alive");
}

struct Server::State {
  struct Conn {
    std::uint64_t generation = 0;
    std::vector<std::uint8_t> buffer;
    Steady::time_point last_active;
    common::SocketAddress peer;
  };
  struct Pending {
    Steady::time_point due;
    int fd = -1;
    std::uint64_t generation = 0;  // TCP: the connection it belongs to; UDP: 0
    common::SocketAddress peer;
    LocalAddress local;  // UDP: reply from the address the query was sent to
    std::vector<std::uint8_t> reply;
    bool operator>(const Pending& o) const noexcept { return due > o.due; }
  };

  const Responder& responder;
  ServerLimits limits;
  WitnessMetrics& metrics;
  ResponseRateLimiter rrl{limits.rrl};
  std::vector<int> udp;
  std::vector<common::SocketAddress> udp_bound;
  std::vector<int> tcp;
  std::unordered_map<int, Conn> conns;
  std::uint64_t next_generation = 1;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
  std::vector<std::uint8_t> out = std::vector<std::uint8_t>(kMaxMessage);
  std::vector<std::uint8_t> framed = std::vector<std::uint8_t>(kMaxMessage + 2);  // TCP: length + message
  std::vector<std::uint8_t> in = std::vector<std::uint8_t>(kMaxMessage);

  State(const Responder& r, ServerLimits l, WitnessMetrics& m) : responder(r), limits(std::move(l)), metrics(m) {}
  ~State();
  void on_udp(int fd);
  void on_accept(int fd);
  void on_tcp(int fd);
  void handle(std::span<const std::uint8_t> query, const Peer& peer, const LocalAddress& local, int fd,
              std::uint64_t generation);
  void send_tcp(int fd, std::span<const std::uint8_t> reply) noexcept;
  bool rate_allows(const Peer& peer, Decision& d) noexcept;
  void close_conn(int fd) noexcept;
  void fire_due(Steady::time_point now);
  void expire_idle(Steady::time_point now);
  [[nodiscard]] int timeout_ms(Steady::time_point now) const;
};

Server::State::~State() {
  for (const int fd : udp) ::close(fd);
  for (const int fd : tcp) ::close(fd);
  for (const auto& [fd, conn] : conns) ::close(fd);
}

void Server::State::send_tcp(int fd, std::span<const std::uint8_t> reply) noexcept {
  // One buffer with the length prefix, so a reply is never split across two segments needlessly.
  framed[0] = static_cast<std::uint8_t>(reply.size() >> 8);
  framed[1] = static_cast<std::uint8_t>(reply.size());
  std::memcpy(framed.data() + 2, reply.data(), reply.size());
  const ssize_t n = ::send(fd, framed.data(), reply.size() + 2, MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(reply.size() + 2)) close_conn(fd);  // a stalled reader loses its connection
}

// Response rate limiting (rrl.hpp), UDP only: false if the answer must not be sent; a slipped one
// is truncated in `out` (the client retries over TCP).
bool Server::State::rate_allows(const Peer& peer, Decision& d) noexcept {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch()).count();
  switch (rrl.check(peer.endpoint.ip(), static_cast<std::uint64_t>(now_ms))) {
    case RrlAction::Send:
      return true;
    case RrlAction::Slip:
      metrics.rrl_slipped->inc();
      d.reply_size = truncate_reply(std::span<std::uint8_t>(out.data(), kMaxMessage), d.reply_size);
      d.delay_ms = 0;
      return true;
    case RrlAction::Drop:
      metrics.rrl_dropped->inc();
      return false;
  }
  return true;
}

void Server::State::handle(std::span<const std::uint8_t> query, const Peer& peer, const LocalAddress& local, int fd,
                           std::uint64_t generation) {
  Decision d = responder.respond(query, peer, std::span<std::uint8_t>(out.data(), kMaxMessage));
  metrics.queries[static_cast<std::size_t>(d.outcome)]->inc();
  if (d.cap_dropped) metrics.records_dropped->inc();
  if (d.overflow) metrics.records_lost->inc();
  if (d.reply_size > 0 && peer.transport == dns::Transport::Udp && !rate_allows(peer, d)) return;
  if (d.reply_size == 0) return;
  const auto reply = std::span<const std::uint8_t>(out.data(), d.reply_size);
  if (d.delay_ms == 0) {
    if (peer.transport == dns::Transport::Tcp) {
      send_tcp(fd, reply);
    } else {
      send_to(fd, peer.endpoint, local, reply);
    }
    return;
  }
  if (pending.size() >= limits.max_pending_delays) {
    metrics.delays_dropped->inc();
    return;
  }
  pending.push(Pending{Steady::now() + std::chrono::milliseconds(d.delay_ms), fd, generation, peer.endpoint, local,
                       std::vector<std::uint8_t>(reply.begin(), reply.end())});
}

void Server::State::on_udp(int fd) {
  for (int i = 0; i < kUdpBurst; ++i) {
    const auto d = receive(fd, in);
    if (!d) return;  // EAGAIN, or a transient error: poll again
    handle(std::span<const std::uint8_t>(in.data(), d->size), Peer{d->peer, dns::Transport::Udp}, d->local, fd, 0);
  }
}

void Server::State::on_accept(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const int c = ::accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) return;
  if (conns.size() >= limits.max_tcp_connections) {
    metrics.tcp_refused->inc();
    ::close(c);
    return;
  }
  conns.emplace(c, Conn{next_generation++, {}, Steady::now(), from_sockaddr(ss)});
}

void Server::State::on_tcp(int fd) {
  Conn& conn = conns.at(fd);
  std::array<std::uint8_t, 4096> chunk{};
  const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) close_conn(fd);
    return;
  }
  conn.last_active = Steady::now();
  conn.buffer.insert(conn.buffer.end(), chunk.begin(), chunk.begin() + n);
  const std::uint64_t generation = conn.generation;
  const common::SocketAddress peer = conn.peer;
  // Answer every complete message (RFC 7766 pipelining); the connection may close while answering.
  while (conns.contains(fd)) {
    auto& buffer = conns.at(fd).buffer;
    if (buffer.size() < 2) return;
    const std::size_t length = (static_cast<std::size_t>(buffer[0]) << 8) | buffer[1];
    if (buffer.size() < 2 + length) return;
    std::memcpy(in.data(), buffer.data() + 2, length);  // `in` holds 65535: no allocation per message
    buffer.erase(buffer.begin(), buffer.begin() + 2 + static_cast<std::ptrdiff_t>(length));
    handle(std::span<const std::uint8_t>(in.data(), length), Peer{peer, dns::Transport::Tcp}, LocalAddress{}, fd,
           generation);
  }
}

void Server::State::close_conn(int fd) noexcept {
  if (conns.erase(fd) > 0) ::close(fd);
}

void Server::State::fire_due(Steady::time_point now) {
  while (!pending.empty() && pending.top().due <= now) {
    const Pending& p = pending.top();
    if (p.generation == 0) {
      send_to(p.fd, p.peer, p.local, p.reply);
    } else if (auto it = conns.find(p.fd); it != conns.end() && it->second.generation == p.generation) {
      send_tcp(p.fd, p.reply);  // only if the same connection is still open
    }
    pending.pop();
  }
}

void Server::State::expire_idle(Steady::time_point now) {
  std::erase_if(conns, [&](const auto& entry) {
    if (now - entry.second.last_active < limits.tcp_idle) return false;
    ::close(entry.first);
    return true;
  });
}

int Server::State::timeout_ms(Steady::time_point now) const {
  constexpr int kHousekeepingMs = 1000;
  if (pending.empty()) return kHousekeepingMs;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(pending.top().due - now).count();
  return static_cast<int>(std::clamp<std::int64_t>(wait, 0, kHousekeepingMs));
}

Server::Server(const Responder& responder, const std::vector<common::SocketAddress>& listen, ServerLimits limits,
               WitnessMetrics& metrics)
    : state_(std::make_unique<State>(responder, std::move(limits), metrics)) {
  for (const auto& e : listen) {
    state_->udp.push_back(open_socket(e, SOCK_DGRAM));
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(state_->udp.back(), reinterpret_cast<sockaddr*>(&ss), &len);
    const common::SocketAddress bound = from_sockaddr(ss);
    state_->udp_bound.push_back(bound);
    state_->tcp.push_back(open_socket(bound, SOCK_STREAM));  // same port as UDP, also when asked for 0
  }
}

Server::~Server() = default;

std::vector<common::SocketAddress> Server::bound() const {
  return state_->udp_bound;
}

void Server::run(int stop_fd) {
  State& s = *state_;
  std::vector<pollfd> fds;
  while (true) {
    fds.clear();
    fds.push_back(pollfd{stop_fd, POLLIN, 0});
    for (const int fd : s.udp) fds.push_back(pollfd{fd, POLLIN, 0});
    for (const int fd : s.tcp) fds.push_back(pollfd{fd, POLLIN, 0});
    for (const auto& [fd, conn] : s.conns) fds.push_back(pollfd{fd, POLLIN, 0});
    const int n = ::poll(fds.data(), fds.size(), s.timeout_ms(Steady::now()));
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
    if (fds[0].revents != 0) return;
    const std::size_t udp_end = 1 + s.udp.size();
    const std::size_t tcp_end = udp_end + s.tcp.size();
    for (std::size_t i = 1; n > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      try {
        if (i < udp_end) {
          s.on_udp(fds[i].fd);
        } else if (i < tcp_end) {
          s.on_accept(fds[i].fd);
        } else if (s.conns.contains(fds[i].fd)) {
          s.on_tcp(fds[i].fd);
        }
      } catch (const std::bad_alloc&) {
        // Out of memory for a connection buffer or a delayed reply: that packet is lost, the
        // server keeps serving (every container operation above leaves its state intact).
        s.metrics.out_of_memory->inc();
      }
    }
    const auto now = Steady::now();
    s.fire_due(now);
    s.expire_idle(now);
  }
}

}  // namespace dnsfence::witness
