#pragma once
// The witness's only memory: per run, every resolver address that asked, first and last seen, a
// count, the transports, the query types and which probe names it asked for. Bounded: runs expire `run_ttl` after
// creation, at most `max_runs` live at once, at most `max_resolvers_per_run` addresses per run (later ones are counted
// as dropped, not stored). Thread-safe; time comes from an injected clock.

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <expected>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/net.hpp"
#include "dns/response.hpp"
#include "witness/token.hpp"

namespace dnsfence::witness {

using TimePoint = std::chrono::system_clock::time_point;

/// Where time comes from: the system clock in production, a fake one in tests.
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const noexcept = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const noexcept override { return std::chrono::system_clock::now(); }
};

struct StoreLimits {
  std::chrono::seconds run_ttl{3600};
  std::size_t max_runs = 1000;
  std::size_t max_resolvers_per_run = 64;
};

/// One authenticated probe query, as the responder saw it.
struct Observation {
  RunId run;
  common::IpAddress resolver;
  dns::Transport transport = dns::Transport::Udp;
  std::uint16_t qtype = 0;
  std::uint16_t probe = 0;  // the token's probe number
};

inline constexpr std::size_t kMaxTypesPerResolver = 16;
// Probe numbers run from 1 to probes_per_run (at most 1000): one bit each, so a resolver that
// asked for every probe name of a run (the VPN's, in a protected leak test) is recorded whole.
inline constexpr std::size_t kProbeNumbers = 1024;

struct ResolverStats {
  common::IpAddress address;
  TimePoint first_seen;
  TimePoint last_seen;
  std::uint64_t count = 0;
  bool udp = false;
  bool tcp = false;
  std::array<std::uint16_t, kMaxTypesPerResolver> types{};  // distinct, in order first seen
  std::uint8_t type_count = 0;
  std::bitset<kProbeNumbers> probes;  // the probe numbers it asked for
};

/// A copy of one run for the API.
struct RunSnapshot {
  RunId id;
  TimePoint created;
  TimePoint expires;
  std::vector<ResolverStats> resolvers;  // in order first seen
  std::uint64_t dropped = 0;             // queries from resolvers beyond the cap
};

enum class RecordOutcome : std::uint8_t {
  Recorded,    // stored (a new resolver, or counted on a known one)
  UnknownRun,  // no such run, or it expired: a replayed or stale token; nothing stored
  CapDropped,  // the run already holds max_resolvers_per_run addresses; counted as dropped
};

enum class CreateError : std::uint8_t { Full };  // max_runs live runs

class Store {
 public:
  /// `clock` must outlive the store.
  Store(StoreLimits limits, const Clock& clock) : limits_(limits), clock_(clock) {}

  /// Starts a run with a fresh random id, after purging expired runs. Fails when max_runs are live.
  std::expected<RunSnapshot, CreateError> create();
  /// Records one observation. Never allocates for a known resolver; never throws.
  RecordOutcome record(const Observation& o) noexcept;
  /// A copy of a live run; nullopt if unknown or expired.
  [[nodiscard]] std::optional<RunSnapshot> get(const RunId& id) const;
  /// Forgets expired runs; returns how many.
  std::size_t purge();
  /// Live runs (expired ones not yet purged included).
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] const StoreLimits& limits() const noexcept { return limits_; }

 private:
  struct Run {
    TimePoint created;
    TimePoint expires;
    std::vector<ResolverStats> resolvers;
    std::uint64_t dropped = 0;
  };
  static void count(ResolverStats& r, const Observation& o, TimePoint now) noexcept;
  std::size_t purge_locked(TimePoint now);

  StoreLimits limits_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<RunId, Run, RunIdHash> runs_;
};

}  // namespace dnsfence::witness
