#pragma once
// The witness's HTTP endpoints on io::http's event-driven server, on two listeners:
//
// Public (what a browser page or `dnsfence leaktest` calls; safe to expose behind a TLS proxy):
//   POST /runs [{"count": N}] -> 201 {"run": KEY, "zone", "created", "expires", "probes": [N names],
//                               "probes_v4", "probes_v6", "behaviours", "answers"}
//                               N defaults to probes_per_run, at most max_probes_per_run (else 400);
//                               429 + Retry-After when the client's prefix creates runs too fast;
//                               503 when max_runs are alive or the store is unreachable
//   GET  /runs/KEY           -> 200 {"run", "created", "expires", "probes", "dropped", "lost",
//                               "incomplete", "answers", "resolvers": [...]}; 404 unknown or expired
//   GET  /healthz            -> "ok"
//   GET /, /page.css, /page.js, any request whose Host is a name under the zone, POST /reports:
//   the browser leak test (page_routes.hpp)
// KEY is the run's 128-bit read capability; probe names carry only the RunId derived from it.
//
// Operator (bind it to loopback or a management network):
//   GET /metrics (Prometheus), GET /healthz, GET /status (the store's state as JSON)
//
// Control plane: may throw while starting; handlers turn every failure into an HTTP error.

#include <chrono>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/metrics.hpp"
#include "common/net.hpp"
#include "io/http_server.hpp"
#include "witness/rate_limit.hpp"
#include "witness/reports.hpp"
#include "witness/responder.hpp"
#include "witness/roles.hpp"
#include "witness/server.hpp"
#include "witness/store.hpp"

namespace dnsfence::witness {

/// How big runs are and how long they live.
struct RunPolicy {
  std::size_t default_probes = 4;  // POST /runs without a count
  std::size_t max_probes = 100;    // the most a count may ask for (at most 1000)
  std::chrono::seconds run_ttl{3600};
};

/// The API's own counters and the store's state, refreshed on each scrape.
struct ApiMetrics {
  explicit ApiMetrics(common::Registry& registry);
  common::Counter* runs_rate_limited = nullptr;  // 429: the client's prefix created runs too fast
  common::Counter* runs_unavailable = nullptr;   // 503: the store could not be reached
  common::Gauge* store_connected = nullptr;
  common::Gauge* store_buffered = nullptr;
  common::Gauge* store_written = nullptr;
  common::Gauge* store_overflowed = nullptr;
  common::Gauge* http_open = nullptr;       // public listener: connections open
  common::Gauge* http_refused = nullptr;    // ... refused at the caps (since start)
  common::Gauge* http_evicted = nullptr;    // ... closed to make room (since start)
  common::Gauge* http_timed_out = nullptr;  // ... cut off by a phase deadline (since start)
};

/// What the handlers use; every reference must outlive the Api (and any store callback).
struct ApiContext {
  Store& store;
  const Keyring& keys;
  const ZoneConfig& zone;
  const Clock& clock;
  RunPolicy policy;
  PrefixRateLimiter* run_limiter = nullptr;  // null: run creation not rate-limited
  common::Registry& registry;
  WitnessMetrics& metrics;
  ApiMetrics& api_metrics;
  std::span<const ResolverRole> roles = {};        // [[witness.resolvers]]: the VPN's own resolvers
  std::span<const ReporterConfig> reporters = {};  // [[witness.reporters]]: VPN servers that report
};

/// The probe count a POST /runs body asks for: empty or {} -> the default; {"count": N} with
/// 1 <= N <= max_probes. Anything else: the reason it is refused.
std::expected<std::size_t, std::string> requested_count(std::string_view body, const RunPolicy& policy);

/// The JSON of a run's results: per resolver its address, times, count, transports, types, the
/// probe names it asked for and its role ("vpn" with the operator's name, or "other"); what VPN
/// servers reported ("reports": the address the device asked, its class, transports, action,
/// reporter, role, names); the addresses the witness serves at probe names ("answers"), so a
/// client can tell a forged answer (TAMPERED) from a real one; and the witness's time ("now", ms).
nlohmann::json run_json(const RunSnapshot& run, const ApiContext& ctx);
/// The JSON of a new run: its key, times, probe names under the zone (and v4./v6. children) and
/// the answers served at them.
nlohmann::json created_json(const RunSnapshot& run, const ApiContext& ctx);
/// "2026-11-28T12:00:00.123Z".
std::string iso8601(TimePoint t);
/// True if `host` (lowercase, no port) is a name strictly below the zone: a probe fetched over HTTP.
bool is_probe_host(std::string_view host, const ZoneConfig& zone);

class Api {
 public:
  enum class Role : std::uint8_t { Public, Operator };
  /// Binds `listen` (port 0: any free port). Throws std::runtime_error if it cannot.
  Api(ApiContext ctx, const common::SocketAddress& listen, Role role, io::http::ServerLimits limits = {});
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Serves on a thread of its own until stop().
  void start();
  void stop();
  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] const io::http::ServerStats& stats() const noexcept;
  /// Operator role: also report `public_api`'s connection counters (metrics and /status). Call
  /// before start(); `public_api` must outlive this Api.
  void observe(const Api& public_api) noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dnsfence::witness
