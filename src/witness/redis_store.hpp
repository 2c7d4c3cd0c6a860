#pragma once
// The fleet's store: every witness instance writes what it saw to one Redis (Debian redis-server;
// Sentinel or Cluster past one machine, docs/witness.md), so a resolver may ask any instance and
// any instance's API shows the union. Layout and scripts: redis_codec.hpp.
//
// Redis is never on the DNS answer's path. record() only appends to a bounded in-memory queue; a
// writer thread merges what accumulated (for `linger`, a few milliseconds) into one pipelined script
// call per run: the busier the witness, the bigger each batch and the cheaper each observation. While Redis is
// unreachable the witness keeps answering, the queue holds up to `buffer` observations and is written when Redis
// returns; what does not fit is counted (per run where possible, else as a time window) and written as "lost", so the
// API marks those runs as possibly incomplete. Nothing is dropped silently.
//
// The API's create() and get() run on the same writer thread, after the observations queued
// before them: an instance always reads what it recorded itself. Each round trip is bounded by
// `timeout`; with Redis away they fail at once with StoreError::Unavailable (the API says 503).

#include <chrono>
#include <memory>
#include <string>

#include "witness/redis_client.hpp"
#include "witness/redis_codec.hpp"
#include "witness/store.hpp"

namespace dnsfence::witness {

struct RedisOptions {
  RedisEndpoint endpoint;
  StoreLimits limits;
  std::size_t buffer = 65536;  // observations held while Redis is unreachable
  std::string prefix = "dnsfence:witness:";
  std::chrono::milliseconds timeout{1000};    // connect, and each pipelined round trip
  std::chrono::milliseconds retry_max{2000};  // reconnect backoff: 50 ms doubling up to this
  std::chrono::milliseconds linger{5};        // a batch gathers this long before it is written
  std::string password;                       // AUTH after connecting; empty: none
  std::string instance;                       // names this process in lost windows; default host:pid
};

class RedisStore final : public Store {
 public:
  /// Starts the writer thread, which connects in the background (Redis may be down at start).
  /// `clock` must outlive the store.
  RedisStore(RedisOptions options, const Clock& clock);
  /// Writes what it can within one timeout, answers pending API calls Unavailable, joins.
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  RecordOutcome record(const Observation& o) noexcept override;
  void create(const RunSnapshot& run, Created done) override;
  void get(const RunKey& key, Found done) override;
  void add_reports(std::vector<ReportObservation> reports, Kept done) override;
  StoreStatus status() override;
  /// Waits until every observation recorded before the call is written to Redis (true), or
  /// `timeout` passes (false: Redis is away, or slow).
  bool flush(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dnsfence::witness
