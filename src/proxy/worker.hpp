#pragma once
// One worker thread of `dnsfence serve`: its own SO_REUSEPORT listeners, upstream sockets and
// connections, in-flight table and counters. Transport below, query processing above: UDP
// batches (io/udp_batch) and DNS over TCP (io::TcpServer, shared with the witness) hand every
// query to one path, handle_query(), which runs the Pipeline and either answers locally or
// forwards — over UDP for UDP clients, over pooled upstream connections (UpstreamStreams) for TCP
// clients and for truncated answers asked again. The hot path takes no lock and allocates
// nothing. The policy is a shared immutable snapshot the worker picks up between batches.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/config.hpp"
#include "io/client_limit.hpp"
#include "io/poller.hpp"
#include "io/socket.hpp"
#include "io/tcp_server.hpp"
#include "io/udp_batch.hpp"
#include "policy/rule_set.hpp"
#include "proxy/inflight.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/report_queue.hpp"
#include "proxy/stats.hpp"
#include "proxy/upstream_sockets.hpp"
#include "proxy/upstream_streams.hpp"
#include "proxy/upstreams.hpp"

namespace dnsfence::proxy {

/// What the workers share with the control thread.
struct Shared {
  std::atomic<std::shared_ptr<const policy::RuleSet>> rules;
  std::atomic<std::shared_ptr<const UpstreamSet>> upstreams;
  std::atomic<std::uint64_t> generation{0};  // bumped after each new rules or upstreams snapshot
  std::atomic<bool> stop{false};
  // Tproxy mode, one per family (v4, v6), opened by Server::open when a family has transparent
  // listeners but no listener (plain or transparent) on port 53: send-only transparent sockets bound to the wildcard
  // address, port 53, that UDP replies to port-53 queries leave from (the source address set by IP_PKTINFO /
  // IPV6_PKTINFO). Shared by the workers: sending needs no capability.
  std::array<io::Fd, 2> tproxy_reply;
  // TCP connections per client address, across the workers (tcp_max_connections_per_client).
  std::unique_ptr<io::ClientLimit> tcp_clients;
};

/// Monotonic time in nanoseconds.
std::int64_t now_ns() noexcept;

class Worker final : private io::TcpHandler, private StreamOwner {
 public:
  /// Keeps references to `config` and `shared`, which must outlive the worker.
  Worker(unsigned index, unsigned workers, const common::ServeConfig& config, Shared& shared);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() override;

  /// Opens every socket (control plane). Throws std::system_error naming the address.
  void open();
  /// Tproxy mode: the families (v4, v6) with transparent UDP listeners but no listener on port 53,
  /// which need a shared reply socket (Shared::tproxy_reply). Call after open().
  [[nodiscard]] std::array<bool, 2> needs_tproxy_reply() const noexcept;
  /// Runs until shared.stop is set; in-flight queries still get their answers or timeouts while
  /// the rules and upstreams change underneath.
  void run() noexcept;
  [[nodiscard]] const Stats& stats() const noexcept { return stats_; }
  void set_reports(ReportQueue* q) noexcept { reports_ = q; }
  /// The shared generation whose rules and upstreams this worker uses now.
  [[nodiscard]] std::uint64_t applied_generation() const noexcept {
    return applied_generation_.load(std::memory_order_acquire);
  }

 private:
  enum class Kind : std::uint8_t { UdpListener, TcpListener, Upstream, TcpClient, TcpUpstream };
  struct Listener {
    io::Fd fd;
    bool transparent = false;  // a tproxy listener: reads each datagram's original destination
    bool reply53 = false;      // transparent, on port 53: tproxy replies from port 53 can leave by it
    std::uint16_t port = 0;
    std::uint8_t family = 0;  // 0: IPv4, 1: IPv6
  };
  /// Who asked, and so where the answer goes.
  struct Origin {
    dns::Transport transport = dns::Transport::Udp;
    std::uint8_t listener = 0;                      // Udp
    const common::SocketAddress* client = nullptr;  // Udp
    std::optional<common::SocketAddress> original;  // tproxy: the resolver the client asked
    int reply_fd = -1;                              // Udp: the socket the answer leaves by
    io::TcpConnRef conn;                            // Tcp
  };

  // io::TcpHandler: DNS over TCP from clients.
  void on_message(io::TcpConnRef conn, const io::TcpConnInfo& info, std::span<std::uint8_t> message) noexcept override;
  void on_closed(io::TcpClose reason) noexcept override;
  void on_refused() noexcept override;
  void on_paused(io::TcpPause why) noexcept override;
  void on_open(std::uint32_t connections) noexcept override;
  // StreamOwner: answers over upstream connections.
  void on_stream_answer(std::uint32_t conn, std::span<std::uint8_t> answer) noexcept override;

  void refresh() noexcept;
  void on_udp_queries(std::uint8_t listener) noexcept;
  void handle_udp_query(std::uint8_t listener, std::size_t i) noexcept;
  // The one query path (worker_query.cpp).
  void handle_query(const Origin& o, dns::Bytes packet, Reply r) noexcept;
  bool forward(const Decision& d, const Origin& o, dns::Bytes packet) noexcept;
  std::optional<std::uint32_t> start_forward(const Decision& d,
                                             const std::optional<common::SocketAddress>& original) noexcept;
  /// `parsed` (may be null): the query as parsed, whose EDNS payload size is clamped in the copy.
  bool send_upstream_udp(std::uint32_t slot, dns::Bytes query, const dns::Message* parsed) noexcept;
  bool send_upstream_tcp(std::uint32_t slot, dns::Bytes query) noexcept;
  void answer(const Origin& o, std::span<const std::uint8_t> reply) noexcept;
  void debug_log(const Decision& d, dns::Transport t) const noexcept;
  // Upstream side (worker_upstream.cpp).
  void on_upstream_answers(std::uint16_t socket) noexcept;
  void handle_answer(std::uint16_t socket, std::span<std::uint8_t> data, const common::SocketAddress& from,
                     bool truncated) noexcept;
  void accept_answer(std::uint32_t slot, std::span<std::uint8_t> answer) noexcept;
  bool retry_tcp(std::uint32_t slot) noexcept;
  void deliver(Slot& slot, std::span<std::uint8_t> answer) noexcept;
  void release(std::uint32_t slot) noexcept;
  bool send_probe(std::uint8_t upstream) noexcept;
  void expire(std::int64_t now) noexcept;
  // Replies to UDP clients.
  void flush() noexcept;
  void send_udp(const Slot& slot, std::span<const std::uint8_t> data) noexcept;
  /// The server the slot's query went to: the pool's upstream, or the original destination of a
  /// pass-through query. Only its answers are taken.
  [[nodiscard]] const common::SocketAddress& target(const Slot& slot) const noexcept {
    return slot.upstream == kPassUpstream ? slot.original : pool_[slot.upstream].address;
  }
  /// The socket a tproxy reply from `from` (an original destination) leaves through: the listener
  /// if it has that port, else the family's port-53 socket if the port is 53; -1: none (replying
  /// from another port would need a new transparent socket, and serve keeps no capability).
  [[nodiscard]] int reply_socket(std::uint8_t listener, const common::SocketAddress& from) const noexcept;
  void queue_reply(int fd, std::span<const std::uint8_t> data, const common::SocketAddress& to,
                   const std::optional<common::SocketAddress>& from) noexcept;
  [[nodiscard]] std::uint64_t random() noexcept;

  ReportQueue* reports_ = nullptr;
  unsigned index_;
  const common::ServeConfig& config_;
  Shared& shared_;
  io::Poller poller_;
  std::vector<Listener> udp_listeners_;
  std::vector<bool> tcp_transparent_;  // per TCP listener
  std::shared_ptr<const policy::RuleSet> rules_;
  std::uint64_t generation_ = ~0ULL;
  std::atomic<std::uint64_t> applied_generation_{0};
  std::int64_t now_ = 0;  // this loop turn's time
  std::int64_t last_tick_ = 0;
  Pipeline pipeline_{nullptr};
  InflightTable table_;
  UpstreamPool pool_;
  Stats stats_;
  io::TcpServer tcp_;
  UpstreamSockets sockets_;
  UpstreamStreams streams_;
  std::unique_ptr<io::RecvBatch> recv_;
  std::unique_ptr<io::SendBatch> replies_;
  int replies_fd_ = -1;                 // the socket the queued replies leave from
  std::array<int, 2> reply53_{-1, -1};  // tproxy: per family, the socket replies from port 53 use
  // Forwarded queries, per family and destination (upstreams, pass-through), and the socket
  // each batch leaves from.
  std::array<std::unique_ptr<io::SendBatch>, 4> forwards_;
  std::array<std::uint16_t, 4> forward_socket_{};
  std::array<std::uint8_t, 65535 + 2> scratch_{};
  std::array<std::uint64_t, 512> random_pool_{};
  std::size_t random_next_ = random_pool_.size();
};

}  // namespace dnsfence::proxy
