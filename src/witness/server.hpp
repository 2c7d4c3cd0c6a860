#pragma once
// The witness's DNS sockets: UDP and TCP on every listen address (IPv4 and IPv6), one thread, one
// poll() loop. Delayed replies wait in a bounded timer queue; `noreply` queries get nothing. The
// loop returns when the stop descriptor (a signalfd or eventfd) becomes readable.

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/metrics.hpp"
#include "common/net.hpp"
#include "witness/responder.hpp"
#include "witness/rrl.hpp"

namespace dnsfence::witness {

/// The counters the data plane updates: outcomes and drops, never names or addresses.
struct WitnessMetrics {
  explicit WitnessMetrics(common::Registry& registry);
  std::array<common::Counter*, kOutcomeCount> queries{};
  common::Counter* records_dropped = nullptr;  // probes of a live run beyond max_resolvers_per_run
  common::Counter* delays_dropped = nullptr;   // delayed replies beyond max_pending_delays
  common::Counter* tcp_refused = nullptr;      // connections beyond max_tcp_connections
  common::Counter* out_of_memory = nullptr;    // packets dropped because an allocation failed
  common::Counter* records_lost = nullptr;     // probes of a live run lost: the store's buffer was full
  common::Counter* rrl_slipped = nullptr;      // UDP answers over the rate limit, sent truncated
  common::Counter* rrl_dropped = nullptr;      // UDP answers over the rate limit, not sent
  common::Gauge* runs_active = nullptr;
  common::Counter* runs_created = nullptr;
  common::Counter* runs_refused = nullptr;  // create requests refused because max_runs are live
};

struct ServerLimits {
  std::size_t max_pending_delays = 1024;
  std::size_t max_tcp_connections = 64;
  std::chrono::milliseconds tcp_idle{10000};
  RrlConfig rrl;  // response rate limiting of UDP answers (off unless rrl.rate > 0)
};

class Server {
 public:
  /// Binds UDP and TCP sockets on every endpoint. Throws std::system_error naming the endpoint.
  Server(const Responder& responder, const std::vector<common::SocketAddress>& listen, ServerLimits limits,
         WitnessMetrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Serves until `stop_fd` is readable. Throws std::system_error only if poll() itself fails.
  void run(int stop_fd);
  /// The UDP endpoints actually bound (port 0 resolved), in listen order.
  [[nodiscard]] std::vector<common::SocketAddress> bound() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace dnsfence::witness
