#pragma once
// The witness's HTTP JSON API (cpp-httplib, nlohmann-json):
//   POST /runs        -> 201 {"run", "zone", "created", "expires", "probes": [...], "probes_v4", "probes_v6"}
//                        503 {"error"} when max_runs are alive
//   GET  /runs/RUN    -> 200 {"run", "created", "expires", "dropped", "resolvers": [{"address", "family",
//                        "first_seen", "last_seen", "count", "transports", "types"}]}; 404 unknown or expired
//   GET  /metrics     -> Prometheus text;   GET /healthz -> "ok"
// Control plane: may throw while starting; handlers turn every failure into an HTTP error.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/metrics.hpp"
#include "common/net.hpp"
#include "witness/responder.hpp"
#include "witness/server.hpp"
#include "witness/store.hpp"

namespace dnsfence::witness {

/// What the handlers use; every reference must outlive the Api.
struct ApiContext {
  Store& store;
  const Key& key;
  const ZoneConfig& zone;
  std::size_t probes_per_run = 4;
  common::Registry& registry;
  WitnessMetrics& metrics;
};

/// The JSON of a run's results: per resolver its address, times, count, transports, types and the
/// probe names it asked for; and the addresses the witness serves at probe names ("answers"), so a
/// client can tell a forged answer (TAMPERED) from a real one.
nlohmann::json run_json(const RunSnapshot& run, const ApiContext& ctx);
/// The JSON of a new run: its id, times, probe names under the zone (and v4./v6. children) and the
/// answers served at them.
nlohmann::json created_json(const RunSnapshot& run, const ApiContext& ctx);
/// "2026-11-28T12:00:00.123Z".
std::string iso8601(TimePoint t);

class Api {
 public:
  enum class Routes : std::uint8_t { All, MetricsOnly };
  /// Binds `listen` (port 0: any free port). Throws std::runtime_error if it cannot.
  Api(ApiContext ctx, const common::SocketAddress& listen, Routes routes);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Serves on a thread of its own until stop().
  void start();
  void stop();
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

}  // namespace dnsfence::witness
