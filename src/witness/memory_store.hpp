#pragma once
// The default store: runs in this process's memory, for one witness instance (a fleet needs the
// shared RedisStore: a run created on one instance is unknown to another's memory). Thread-safe;
// every call completes before it returns; time comes from an injected clock.

#include <mutex>
#include <unordered_map>
#include <vector>

#include "witness/store.hpp"

namespace dnsfence::witness {

class MemoryStore final : public Store {
 public:
  /// `clock` must outlive the store.
  MemoryStore(StoreLimits limits, const Clock& clock) : limits_(limits), clock_(clock) {}

  /// Never allocates for a known resolver. A probe of a run this process does not hold (created
  /// by an earlier process, or expired) is UnknownRun.
  RecordOutcome record(const Observation& o) noexcept override;
  /// Fails with Full when max_runs are alive (after forgetting expired ones).
  void create(const RunSnapshot& run, Created done) override;
  void get(const RunKey& key, Found done) override;
  void add_reports(std::vector<ReportObservation> reports, Kept done) override;
  StoreStatus status() override;

 private:
  struct Run {
    RunSnapshot snapshot;  // resolvers, dropped and times; the key itself is not kept
    std::array<std::uint8_t, 16> check{};
    std::vector<std::string> reports;  // report lines (run_reports.hpp), at most kMaxReportsPerRun
  };
  std::size_t purge_locked(TimePoint now);

  StoreLimits limits_;
  const Clock& clock_;
  std::mutex mutex_;
  std::unordered_map<RunId, Run, RunIdHash> runs_;
};

}  // namespace dnsfence::witness
