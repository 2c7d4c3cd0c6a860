#pragma once
// How runs and observations are laid out in Redis, and the commands that write and read them. Pure
// functions over strings (no I/O), so unit tests check them without a server.
//
// Keys (PREFIX defaults to "dnsfence:witness:"; {ID} is a Redis Cluster hash tag, so one run's keys
// live on one node and a script may touch both):
//   PREFIX{ID}:run   hash  check, created, expires (ms), probes, key_id, resolvers, dropped, lost
//                          PEXPIREAT expires: Redis forgets the run by itself
//   PREFIX{ID}:res   hash  per resolver ADDR: ADDR|c count, ADDR|f / ADDR|l first / last seen (ms),
//                          ADDR|t transports (1 udp, 2 tcp), ADDR|q types "1,28", ADDR|p probe bitmap
//   PREFIX runs      zset  run ids scored by expiry: how many runs are alive (max_runs), fleet-wide
//   PREFIX lost      zset  "instance|from|to|count" scored by `to`: windows in which an instance lost
//                          observations it could not attribute to a run (its buffer overflowed)
// Each instance merges its batches with one script per run (kRecordScript): min/max of the times,
// sums of the counts, unions of transports, types and probes, the per-run cap on addresses.

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "witness/store.hpp"

namespace dnsfence::witness {

/// Merges one batch of one run's resolvers. KEYS: run, res. ARGV: cap, then per resolver seven
/// values (address, first, last, count, transports, types, probes). Returns the queries dropped by
/// the cap, or -1 if the run is unknown (expired, or lost by Redis).
extern const std::string_view kRecordScript;
/// Adds lost observations to a run if it still exists. KEYS: run. ARGV: count.
extern const std::string_view kLostScript;

struct RedisKeys {
  std::string prefix = "dnsfence:witness:";
  [[nodiscard]] std::string run(const RunId& id) const;
  [[nodiscard]] std::string resolvers(const RunId& id) const;
  /// The run's report lines (run_reports.hpp), a list trimmed to kMaxReportsPerRun.
  [[nodiscard]] std::string reports(const RunId& id) const;
  [[nodiscard]] std::string runs() const { return prefix + "runs"; }
  [[nodiscard]] std::string lost() const { return prefix + "lost"; }
};

std::int64_t to_ms(TimePoint t) noexcept;
TimePoint from_ms(std::int64_t ms) noexcept;

/// The HSET arguments (without the command and key) of a fresh run.
std::vector<std::string> run_fields(const RunSnapshot& run);

/// One EVALSHA command per run for a batch of observations (grouped by run, then by resolver).
std::vector<std::vector<std::string>> record_commands(const std::vector<Observation>& batch, const RedisKeys& keys,
                                                      const std::string& script_sha, std::size_t cap);

/// A run from its two hashes (flat field/value lists, as HGETALL returns them). NotFound if the run
/// hash is empty or its check does not match `key`; `lost_windows` are the lost zset's members.
std::expected<RunSnapshot, StoreError> decode_run(const RunKey& key,
                                                  const std::vector<std::pair<std::string, std::string>>& run,
                                                  const std::vector<std::pair<std::string, std::string>>& resolvers,
                                                  const std::vector<std::string>& lost_windows);

/// A lost-window member: "instance|from_ms|to_ms|count".
std::string lost_window(std::string_view instance, TimePoint from, TimePoint to, std::uint64_t count);

}  // namespace dnsfence::witness
