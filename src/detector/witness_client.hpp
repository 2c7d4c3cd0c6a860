#pragma once
// The client side of `dnsfence witness`, the leak-test authority. Behind WitnessClient so that
// tests use a fake and the HTTP shape can change without touching the classifier.
//
// HTTP API (JSON), as leaktest expects it (to be reconciled with the witness branch at merge):
//   POST {base}/runs            body {"count": N}
//     -> 200 {"run": "ID", "probes": ["<label>.<zone>", ... N names], "answers": ["192.0.2.99"]}
//        "answers": the A/AAAA data the authority serves for every probe name (optional)
//   GET  {base}/runs/ID
//     -> 200 {"resolvers": [{"address": "203.0.113.10", "names": ["<label>.<zone>", ...]}, ...],
//             "answers": [...]}      unknown keys are ignored

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "detector/model.hpp"

namespace dnsfence::detector {

/// A run the authority created: its id, the probe names it will recognise, and what it serves.
struct WitnessRun {
  std::string id;
  std::vector<std::string> probes;
  std::vector<std::string> answers;
};

/// Talks to a leak-test authority. Control plane: failures throw std::runtime_error with a reason
/// the report shows ("witness http://...: connection refused").
class WitnessClient {
 public:
  virtual ~WitnessClient() = default;
  /// Asks for a run with `count` probe names. A witness may hand out more (an old one ignores the
  /// count) or fewer (its maximum); the caller checks.
  virtual WitnessRun create_run(std::size_t count) = 0;
  /// What the authority recorded for `run` so far.
  virtual WitnessResults results(const WitnessRun& run) = 0;
};

/// io/http (dnsfence's small HTTP client) + nlohmann-json against `base_url` ("http://198.51.100.5:8053"); every
/// request is bounded by `timeout` (connect, read and write).
std::unique_ptr<WitnessClient> make_http_witness(const std::string& base_url, std::chrono::milliseconds timeout);

/// Parses the POST /runs body. Throws on a wrong shape.
WitnessRun parse_run(const std::string& body);
/// One entry of the GET /runs/ID body's "reports" (what a reporting VPN server saw). Throws on a
/// wrong shape.
WitnessReport parse_report(const nlohmann::json& r);
/// Parses the GET /runs/ID body. Throws on a wrong shape.
WitnessResults parse_results(const std::string& body, const std::vector<std::string>& served);

/// An in-memory witness for tests: hands out `run` whatever the count (as an old witness does),
/// returns `results`; with fail_create() set, creating a run throws (an API error).
class FakeWitness final : public WitnessClient {
 public:
  FakeWitness(WitnessRun run, WitnessResults results) : run_(std::move(run)), results_(std::move(results)) {}
  WitnessRun create_run(std::size_t count) override;
  WitnessResults results(const WitnessRun& /*run*/) override { return results_; }
  void fail_create() { fail_create_ = true; }
  /// The counts create_run was called with.
  [[nodiscard]] const std::vector<std::size_t>& asked() const { return asked_; }

 private:
  WitnessRun run_;
  WitnessResults results_;
  bool fail_create_ = false;
  std::vector<std::size_t> asked_;
};

}  // namespace dnsfence::detector
