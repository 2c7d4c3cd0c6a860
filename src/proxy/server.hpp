#pragma once
// `dnsfence serve` as a whole: the workers, the shared rules snapshot, the metrics endpoint and
// reloads. Control plane: methods may throw.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/metrics.hpp"
#include "proxy/report_queue.hpp"
#include "proxy/reporter.hpp"
#include "proxy/worker.hpp"

namespace dnsfence::proxy {

class MetricsHttp;

class Server {
 public:
  /// Compiles the rules; opens nothing yet.
  explicit Server(common::Config config);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  /// Opens every listener, upstream socket and the metrics port, and in tproxy mode the reply
  /// sockets on port 53 (needs root or capabilities for port 53 and transparent sockets; nothing
  /// after). Throws std::system_error naming what failed.
  void open();
  /// Starts the worker threads and the metrics thread. Call after dropping privileges.
  void start();
  /// Applies a new configuration's policy (names, canaries, destinations, allowlist) and upstreams
  /// atomically; sockets and in-flight queries are untouched. Returns the keys that changed but
  /// need a restart (listeners, workers, timeouts, ...), for the log. Throws common::ConfigError,
  /// applying nothing, when a new upstream finds no free index (see UpstreamTable).
  std::vector<std::string> reload(const common::Config& fresh);
  /// Stops and joins every thread.
  void stop();

  /// The Prometheus text exposition.
  [[nodiscard]] std::string metrics() const;
  [[nodiscard]] unsigned workers() const noexcept { return static_cast<unsigned>(workers_.size()); }
  /// The configuration it started with, less `serve.names` (compiled into the rules).
  [[nodiscard]] const common::Config& config() const noexcept { return config_; }

 private:
  void open_tproxy_reply();
  std::shared_ptr<const UpstreamSet> assign(const common::Config& config);
  void collect(common::Exposition& out) const;

  common::Config config_;
  UpstreamTable upstream_table_;
  HealthTable health_;                  // every upstream index's state, shared by the workers
  policy::CounterSlots rule_counters_;  // name rule counters by identity, across reloads
  // Per upstream index: its counters' values when a reload gave it to a new upstream.
  std::array<std::atomic<std::uint64_t>, common::kMaxUpstreams> sent_before_{};
  std::array<std::atomic<std::uint64_t>, common::kMaxUpstreams> timeouts_before_{};
  std::array<std::atomic<std::uint64_t>, common::kMaxUpstreams> downs_before_{};
  common::Registry registry_;
  Shared shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<MetricsHttp> http_;
  // serve.witness_*: one ring per worker (what it saw under the witness zone) and the thread that
  // reports them to the witness (docs/page.md). Empty / null when not configured.
  std::vector<std::unique_ptr<ReportQueue>> report_queues_;
  std::unique_ptr<Reporter> reporter_;
};

}  // namespace dnsfence::proxy
