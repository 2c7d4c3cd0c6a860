#include "witness/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <queue>
#include <system_error>

#include "io/datagram.hpp"
#include "io/poller.hpp"
#include "io/socket.hpp"
#include "witness/udp_io.hpp"

namespace dnsfence::witness {
namespace {

using Steady = std::chrono::steady_clock;
constexpr std::size_t kMaxMessage = 65535;
constexpr std::size_t kUdpBurst = 64;  // datagrams per socket per wake-up, so TCP is never starved
constexpr int kTickMs = 100;           // TCP timeouts are checked this often
enum Kind : std::uint8_t { kStop, kUdp, kTcpListener, kTcpConnection };

std::int64_t steady_ns(Steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

io::Fd open_socket(const common::SocketAddress& e, bool udp) {
  auto fd = udp ? io::open_udp(e, {}) : io::open_tcp_listener(e, {}, 64);
  if (!fd)
    throw std::system_error(fd.error(), std::generic_category(), (udp ? "bind udp " : "bind tcp ") + e.to_string());
  if (udp && !io::enable_pktinfo(fd->get(), e.family()))
    throw std::system_error(errno, std::generic_category(), "IP_PKTINFO " + e.to_string());
  return std::move(*fd);
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
                           "TCP connections closed at once: the client address holds its share of connections");
  for (std::size_t i = 0; i < io::kTcpCloseReasons; ++i)
    tcp_closed[i] = &r.counter("dnsfence_witness_tcp_closed_total", "TCP connections closed, by reason",
                               {{"reason", std::string(io::close_reason_name(static_cast<io::TcpClose>(i)))}});
  for (std::size_t i = 0; i < 2; ++i)
    tcp_paused[i] = &r.counter("dnsfence_witness_tcp_listener_paused_total",
                               "Times the TCP listeners stopped accepting: full or out of descriptors",
                               {{"reason", i == 0 ? "full" : "descriptors"}});
  tcp_connections = &r.gauge("dnsfence_witness_tcp_connections", "Open TCP connections");
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

struct Server::State final : io::TcpHandler {
  struct Pending {
    Steady::time_point due;
    int fd = -1;            // UDP: the socket to reply by
    io::TcpConnRef conn{};  // TCP: the connection (fd < 0)
    common::SocketAddress peer;
    io::LocalAddress local;  // UDP: reply from the address the query was sent to
    std::vector<std::uint8_t> reply;
    bool operator>(const Pending& o) const noexcept { return due > o.due; }
  };

  const Responder& responder;
  ServerLimits limits;
  WitnessMetrics& metrics;
  ResponseRateLimiter rrl{limits.rrl};
  io::Poller poller;
  std::vector<io::Fd> udp;
  std::vector<common::SocketAddress> udp_bound;
  std::unique_ptr<io::ClientLimit> clients;
  std::unique_ptr<io::TcpServer> tcp;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
  std::vector<std::uint8_t> out = std::vector<std::uint8_t>(kMaxMessage);  // TCP replies
  UdpIo udp_io;

  State(const Responder& r, ServerLimits l, WitnessMetrics& m) : responder(r), limits(std::move(l)), metrics(m) {
    clients = std::make_unique<io::ClientLimit>(limits.tcp_max_per_client,
                                                static_cast<std::uint32_t>(limits.max_tcp_connections));
    const io::TcpLimits tl{.max_connections = static_cast<std::uint32_t>(limits.max_tcp_connections),
                           .max_pending = limits.tcp_max_pending,
                           .max_queued = limits.tcp_max_queued,
                           .idle_ns = std::chrono::nanoseconds(limits.tcp_idle).count(),
                           .lifetime_ns = std::chrono::nanoseconds(limits.tcp_lifetime).count()};
    tcp = std::make_unique<io::TcpServer>(poller, *this, tl, kTcpListener, kTcpConnection, clients.get());
  }
  ~State() override { tcp.reset(); }  // before the ClientLimit it refers to

  void on_udp(int fd);
  std::size_t handle(std::span<const std::uint8_t> query, std::span<std::uint8_t> reply, const Peer& peer,
                     const io::LocalAddress& local, int fd, io::TcpConnRef conn);
  void on_message(io::TcpConnRef conn, const io::TcpConnInfo& info, std::span<std::uint8_t> m) noexcept override;
  void on_closed(io::TcpClose reason) noexcept override { metrics.tcp_closed[static_cast<std::size_t>(reason)]->inc(); }
  void on_refused() noexcept override { metrics.tcp_refused->inc(); }
  void on_paused(io::TcpPause why) noexcept override { metrics.tcp_paused[static_cast<std::size_t>(why)]->inc(); }
  void on_open(std::uint32_t n) noexcept override { metrics.tcp_connections->set(n); }
  bool rate_allows(const Peer& peer, Decision& d, std::span<std::uint8_t> reply) noexcept;
  void fire_due(Steady::time_point now);
  [[nodiscard]] int timeout_ms(Steady::time_point now) const;
};

// Response rate limiting (rrl.hpp), UDP only: false if the answer must not be sent; a slipped one
// is truncated in `reply` (the client retries over TCP).
bool Server::State::rate_allows(const Peer& peer, Decision& d, std::span<std::uint8_t> reply) noexcept {
  if (!rrl.enabled()) return true;
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch()).count();
  switch (rrl.check(peer.endpoint.ip(), static_cast<std::uint64_t>(now_ms))) {
    case RrlAction::Send:
      return true;
    case RrlAction::Slip:
      metrics.rrl_slipped->inc();
      d.reply_size = truncate_reply(reply, d.reply_size);
      d.delay_ms = 0;
      return true;
    case RrlAction::Drop:
      metrics.rrl_dropped->inc();
      return false;
  }
  return true;
}

// Decides on one query, building any reply in `reply`. Returns the size of a UDP reply the caller
// must send now (0: none); TCP and delayed replies are dealt with here.
std::size_t Server::State::handle(std::span<const std::uint8_t> query, std::span<std::uint8_t> reply, const Peer& peer,
                                  const io::LocalAddress& local, int fd, io::TcpConnRef conn) {
  Decision d = responder.respond(query, peer, reply);
  metrics.queries[static_cast<std::size_t>(d.outcome)]->inc();
  if (d.cap_dropped) metrics.records_dropped->inc();
  if (d.overflow) metrics.records_lost->inc();
  const bool over_tcp = peer.transport == dns::Transport::Tcp;
  if (d.reply_size > 0 && !over_tcp && !rate_allows(peer, d, reply)) return 0;
  if (d.reply_size == 0) {
    if (over_tcp) tcp->finish(conn);  // noreply: nothing is owed any more
    return 0;
  }
  const auto built = std::span<const std::uint8_t>(reply.data(), d.reply_size);
  if (d.delay_ms == 0) {
    if (!over_tcp) return d.reply_size;
    tcp->reply(conn, built);
    return 0;
  }
  if (pending.size() >= limits.max_pending_delays) {
    metrics.delays_dropped->inc();
    if (over_tcp) tcp->finish(conn);
    return 0;
  }
  pending.push(Pending{Steady::now() + std::chrono::milliseconds(d.delay_ms), over_tcp ? -1 : fd, conn, peer.endpoint,
                       local, std::vector<std::uint8_t>(built.begin(), built.end())});
  return 0;
}

// Batches of datagrams (udp_io.hpp) until the socket is empty or kUdpBurst were taken.
void Server::State::on_udp(int fd) {
  for (std::size_t taken = 0; taken < kUdpBurst;) {
    const std::size_t n = udp_io.receive(fd);
    for (std::size_t i = 0; i < n; ++i) {
      if (!udp_io.valid(i)) continue;
      try {
        const std::size_t size = handle(udp_io.query(i), udp_io.reply_buffer(i),
                                        Peer{udp_io.peer(i), dns::Transport::Udp}, udp_io.local(i), fd, {});
        if (size > 0) udp_io.queue_reply(i, size);
      } catch (const std::bad_alloc&) {
        metrics.out_of_memory->inc();  // out of memory for a delayed reply: that query is lost
      }
    }
    udp_io.flush(fd);
    if (n < kUdpSlots) return;  // a short batch: the socket was empty
    taken += n;
  }
}

void Server::State::on_message(io::TcpConnRef conn, const io::TcpConnInfo& info, std::span<std::uint8_t> m) noexcept {
  try {
    handle(m, std::span<std::uint8_t>(out.data(), kMaxMessage), Peer{info.peer, dns::Transport::Tcp},
           io::LocalAddress{}, -1, conn);
  } catch (const std::bad_alloc&) {
    // Out of memory for a delayed reply: that query is lost, the server keeps serving.
    metrics.out_of_memory->inc();
    tcp->finish(conn);
  }
}

void Server::State::fire_due(Steady::time_point now) {
  while (!pending.empty() && pending.top().due <= now) {
    const Pending& p = pending.top();
    if (p.fd >= 0) {
      io::send_to(p.fd, p.peer, p.local, p.reply);
    } else {
      tcp->reply(p.conn, p.reply);  // only if the same connection is still open
    }
    pending.pop();
  }
}

int Server::State::timeout_ms(Steady::time_point now) const {
  if (pending.empty()) return kTickMs;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(pending.top().due - now).count();
  return static_cast<int>(std::clamp<std::int64_t>(wait, 0, kTickMs));
}

Server::Server(const Responder& responder, const std::vector<common::SocketAddress>& listen, ServerLimits limits,
               WitnessMetrics& metrics)
    : state_(std::make_unique<State>(responder, std::move(limits), metrics)) {
  for (const auto& e : listen) {
    io::Fd u = open_socket(e, true);
    const auto bound = io::local_address(u.get());
    if (!bound) throw std::system_error(bound.error(), std::generic_category(), "getsockname " + e.to_string());
    state_->poller.add(u.get(), io::tag(kUdp, static_cast<std::uint32_t>(state_->udp.size())), EPOLLIN);
    state_->udp.push_back(std::move(u));
    state_->udp_bound.push_back(*bound);
    state_->tcp->add_listener(open_socket(*bound, false), false);  // same port as UDP, also when asked for 0
  }
}

Server::~Server() = default;

std::vector<common::SocketAddress> Server::bound() const {
  return state_->udp_bound;
}

void Server::run(int stop_fd) {
  State& s = *state_;
  s.poller.add(stop_fd, io::tag(kStop, 0), EPOLLIN);
  std::array<epoll_event, 64> events{};
  std::int64_t last_tick = 0;
  while (true) {
    const int n = s.poller.wait(events, s.timeout_ms(Steady::now()));
    const auto now = Steady::now();
    s.tcp->set_now(steady_ns(now));
    for (int i = 0; i < n; ++i) {
      const auto index = io::tag_index(events[i].data.u64);
      try {
        switch (io::tag_kind(events[i].data.u64)) {
          case kStop:
            s.poller.remove(stop_fd);
            return;
          case kUdp:
            s.on_udp(s.udp[index].get());
            break;
          case kTcpListener:
            s.tcp->on_listener(index);
            break;
          default:
            s.tcp->on_connection(index, events[i].events);
            break;
        }
      } catch (const std::bad_alloc&) {
        // Out of memory for a delayed reply: that packet is lost, the server keeps serving.
        s.metrics.out_of_memory->inc();
      }
    }
    s.tcp->run_deferred();
    s.fire_due(now);
    if (steady_ns(now) - last_tick >= std::int64_t{kTickMs} * 1'000'000) {
      s.tcp->tick(steady_ns(now));
      last_tick = steady_ns(now);
    }
  }
}

}  // namespace dnsfence::witness
