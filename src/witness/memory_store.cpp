#include "witness/memory_store.hpp"

#include <algorithm>
#include <new>
#include <optional>

namespace dnsfence::witness {
namespace {

// Enough for a typical run without reallocation; growth beyond it is rare and bounded by the cap.
constexpr std::size_t kInitialResolvers = 8;

// Compares in time independent of where the first difference is.
bool same(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b) noexcept {
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

}  // namespace

void MemoryStore::create(const RunSnapshot& run, Created done) {
  bool full = false;
  {
    const std::lock_guard lock(mutex_);
    purge_locked(clock_.now());
    full = runs_.size() >= limits_.max_runs || runs_.contains(run.id);
    if (!full) {
      Run r{run, run.key.check(), {}};
      r.snapshot.key = RunKey{};
      r.snapshot.resolvers.reserve(std::min(kInitialResolvers, limits_.max_resolvers_per_run));
      runs_.emplace(run.id, std::move(r));
    }
  }
  // Outside the lock: `done` may call back into the store.
  if (full) return done(std::unexpected(StoreError::Full));
  done({});
}

RecordOutcome MemoryStore::record(const Observation& o) noexcept {
  const std::lock_guard lock(mutex_);
  const auto it = runs_.find(o.run);
  if (it == runs_.end()) return RecordOutcome::UnknownRun;
  RunSnapshot& run = it->second.snapshot;
  if (o.at >= run.expires) {
    runs_.erase(it);
    return RecordOutcome::UnknownRun;
  }
  for (auto& r : run.resolvers) {
    if (r.address == o.resolver) {
      r.count_one(o);
      return RecordOutcome::Recorded;
    }
  }
  if (run.resolvers.size() >= limits_.max_resolvers_per_run) {
    ++run.dropped;
    return RecordOutcome::CapDropped;
  }
  try {
    ResolverStats& r = run.resolvers.emplace_back();
    r.address = o.resolver;
    r.count_one(o);
  } catch (const std::bad_alloc&) {
    ++run.dropped;  // out of memory: drop the observation, keep serving
    return RecordOutcome::CapDropped;
  }
  return RecordOutcome::Recorded;
}

void MemoryStore::get(const RunKey& key, Found done) {
  std::optional<RunSnapshot> found;
  {
    const std::lock_guard lock(mutex_);
    const auto it = runs_.find(key.id());
    if (it != runs_.end() && clock_.now() < it->second.snapshot.expires && same(it->second.check, key.check())) {
      found = it->second.snapshot;
      found->key = key;
      found->reports = merge_report_lines(it->second.reports, found->reports_dropped);
    }
  }
  if (!found) return done(std::unexpected(StoreError::NotFound));
  done(std::move(*found));
}

void MemoryStore::add_reports(std::vector<ReportObservation> reports, Kept done) {
  std::size_t kept = 0;
  {
    const std::lock_guard lock(mutex_);
    const TimePoint now = clock_.now();
    for (const auto& o : reports) {
      const auto it = runs_.find(o.run);
      if (it == runs_.end() || now >= it->second.snapshot.expires) continue;
      auto& lines = it->second.reports;
      if (lines.size() >= kMaxReportsPerRun) lines.erase(lines.begin());
      lines.push_back(encode_report_line(o));
      ++kept;
    }
  }
  done(kept);
}

StoreStatus MemoryStore::status() {
  const std::lock_guard lock(mutex_);
  purge_locked(clock_.now());
  StoreStatus s;
  s.kind = "memory";
  s.runs = static_cast<std::int64_t>(runs_.size());
  return s;
}

std::size_t MemoryStore::purge_locked(TimePoint now) {
  return std::erase_if(runs_, [now](const auto& entry) { return now >= entry.second.snapshot.expires; });
}

}  // namespace dnsfence::witness
