#include "witness/store.hpp"

#include <algorithm>
#include <new>

namespace dnsfence::witness {
namespace {

// Enough for a typical run without reallocation; growth beyond it is rare and bounded by the cap.
constexpr std::size_t kInitialResolvers = 8;

}  // namespace

std::expected<RunSnapshot, CreateError> Store::create() {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  purge_locked(now);
  if (runs_.size() >= limits_.max_runs) return std::unexpected(CreateError::Full);
  RunId id = RunId::random();
  while (runs_.contains(id)) id = RunId::random();
  Run run;
  run.created = now;
  run.expires = now + limits_.run_ttl;
  run.resolvers.reserve(std::min(kInitialResolvers, limits_.max_resolvers_per_run));
  runs_.emplace(id, std::move(run));
  return RunSnapshot{id, now, now + limits_.run_ttl, {}, 0};
}

void Store::count(ResolverStats& r, const Observation& o, TimePoint now) noexcept {
  r.last_seen = now;
  ++r.count;
  (o.transport == dns::Transport::Tcp ? r.tcp : r.udp) = true;
  const auto end = r.types.begin() + r.type_count;
  if (std::find(r.types.begin(), end, o.qtype) == end && r.type_count < r.types.size())
    r.types[r.type_count++] = o.qtype;
  if (o.probe < r.probes.size()) r.probes.set(o.probe);
}

RecordOutcome Store::record(const Observation& o) noexcept {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  const auto it = runs_.find(o.run);
  if (it == runs_.end()) return RecordOutcome::UnknownRun;
  Run& run = it->second;
  if (now >= run.expires) {
    runs_.erase(it);
    return RecordOutcome::UnknownRun;
  }
  for (auto& r : run.resolvers) {
    if (r.address == o.resolver) {
      count(r, o, now);
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
    r.first_seen = now;
    count(r, o, now);
  } catch (const std::bad_alloc&) {
    ++run.dropped;  // out of memory: drop the observation, keep serving
    return RecordOutcome::CapDropped;
  }
  return RecordOutcome::Recorded;
}

std::optional<RunSnapshot> Store::get(const RunId& id) const {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  const auto it = runs_.find(id);
  if (it == runs_.end() || now >= it->second.expires) return std::nullopt;
  const Run& run = it->second;
  return RunSnapshot{id, run.created, run.expires, run.resolvers, run.dropped};
}

std::size_t Store::purge() {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mutex_);
  return purge_locked(now);
}

std::size_t Store::purge_locked(TimePoint now) {
  return std::erase_if(runs_, [now](const auto& entry) { return now >= entry.second.expires; });
}

std::size_t Store::size() const {
  std::lock_guard lock(mutex_);
  return runs_.size();
}

}  // namespace dnsfence::witness
