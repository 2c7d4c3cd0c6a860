#pragma once
// One worker thread of `dnsfence serve`: its own SO_REUSEPORT listeners, upstream sockets,
// in-flight table, TCP connections and counters. The hot path takes no lock and allocates
// nothing: recvmmsg a batch, run each query through the Pipeline, sendmmsg the replies and the
// forwarded queries. The policy is a shared immutable snapshot the worker picks up between
// batches.

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/config.hpp"
#include "io/socket.hpp"
#include "io/udp_batch.hpp"
#include "policy/rule_set.hpp"
#include "proxy/inflight.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/report_queue.hpp"
#include "proxy/stats.hpp"
#include "proxy/upstreams.hpp"

namespace dnsfence::proxy {

class TcpServer;

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
};

/// Monotonic time in nanoseconds.
std::int64_t now_ns() noexcept;

class Worker {
 public:
  /// Keeps references to `config` and `shared`, which must outlive the worker.
  Worker(unsigned index, unsigned workers, const common::ServeConfig& config, Shared& shared);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

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
  friend class TcpServer;
  enum class Kind : std::uint8_t { UdpListener, TcpListener, Upstream, TcpClient, TcpUpstream };
  struct Listener {
    io::Fd fd;
    bool transparent = false;  // a tproxy listener: reads each datagram's original destination
    bool reply53 = false;      // transparent, on port 53: tproxy replies from port 53 can leave by it
    std::uint16_t port = 0;
    std::uint8_t family = 0;  // 0: IPv4, 1: IPv6
  };

  void add_epoll(int fd, Kind kind, std::uint32_t index, std::uint32_t events = EPOLLIN) noexcept;
  void refresh() noexcept;
  void on_udp_queries(std::uint8_t listener) noexcept;
  void handle_udp_query(std::uint8_t listener, std::size_t i, std::int64_t now) noexcept;
  void on_upstream_answers(std::uint8_t socket) noexcept;
  void handle_answer(std::uint8_t socket, std::span<std::uint8_t> data, const io::Peer& from) noexcept;
  void deliver(Slot& slot, std::span<std::uint8_t> answer) noexcept;
  void send_udp(std::uint8_t listener, const Slot& slot, std::span<const std::uint8_t> data) noexcept;
  std::optional<std::uint32_t> start_forward(const Decision& d, const std::optional<io::Peer>& original,
                                             std::int64_t now) noexcept;
  bool send_upstream_udp(std::uint32_t slot, dns::Bytes query) noexcept;
  bool send_probe(std::uint8_t upstream) noexcept;
  void expire(std::int64_t now) noexcept;
  void flush() noexcept;
  void send_from(std::uint8_t listener, const io::Peer& from, const io::Peer& to,
                 std::span<const std::uint8_t> data) noexcept;
  /// The socket a tproxy reply from `from` (an original destination) leaves through: the listener
  /// if it has that port, else the family's port-53 socket if the port is 53; -1: none (replying
  /// from another port would need a new transparent socket, and serve keeps no capability).
  [[nodiscard]] int reply_socket(std::uint8_t listener, const io::Peer& from) const noexcept;
  void queue_reply(int fd, std::span<const std::uint8_t> data, const io::Peer& to,
                   const std::optional<io::Peer>& from) noexcept;
  [[nodiscard]] std::uint64_t random() noexcept;
  void debug_log(const Decision& d, dns::Transport t) const noexcept;

  ReportQueue* reports_ = nullptr;
  unsigned index_;
  const common::ServeConfig& config_;
  Shared& shared_;
  io::Fd epoll_;
  std::vector<Listener> udp_listeners_;
  std::vector<Listener> tcp_listeners_;
  std::vector<io::Fd> upstream_sockets_;  // kUpstreamSockets per family: v4 first, then v6
  std::shared_ptr<const policy::RuleSet> rules_;
  std::uint64_t generation_ = ~0ULL;
  std::atomic<std::uint64_t> applied_generation_{0};
  std::int64_t last_tick_ = 0;
  Pipeline pipeline_{nullptr};
  InflightTable table_;
  UpstreamPool pool_;
  Stats stats_;
  std::unique_ptr<io::RecvBatch> recv_;
  std::unique_ptr<io::SendBatch> replies_;
  int replies_fd_ = -1;                                     // the socket the queued replies leave from
  std::array<int, 2> reply53_{-1, -1};                      // tproxy: per family, the socket replies from port 53 use
  std::array<std::unique_ptr<io::SendBatch>, 2> forwards_;  // v4, v6
  std::array<std::uint8_t, 2> forward_socket_{};
  std::unique_ptr<TcpServer> tcp_;
  std::array<std::uint8_t, 65535 + 2> scratch_{};
  std::array<std::uint64_t, 512> random_pool_{};
  std::size_t random_next_ = random_pool_.size();
};

}  // namespace dnsfence::proxy
