#pragma once
// Where runs and what resolvers did live. Two implementations: MemoryStore (memory_store.hpp, the
// default: one instance, no dependency) and RedisStore (redis_store.hpp: a fleet of instances
// sharing one Redis, so any instance's API shows what every instance saw).
//
// The DNS path only ever calls record(), which never blocks and never throws; creating and reading
// runs are the API's, and may complete later on another thread (Redis round trips). What a run
// holds is bounded: it expires `run_ttl` after creation, holds at most `max_resolvers_per_run`
// addresses (later ones are counted as dropped), and at most `max_runs` are alive.

#include <array>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "dns/response.hpp"
#include "witness/run_reports.hpp"
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

/// One authenticated probe query of a live run, as the responder saw it.
struct Observation {
  RunId run;
  common::IpAddress resolver;
  dns::Transport transport = dns::Transport::Udp;
  std::uint16_t qtype = 0;
  std::uint16_t probe = 0;  // the token's probe number
  TimePoint at;
};

inline constexpr std::size_t kMaxTypesPerResolver = 16;
// Probe numbers run from 1 to the run's count (at most 1000): one bit each, so a resolver that
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

  /// Adds one observation of this resolver.
  void count_one(const Observation& o) noexcept;
  /// Adds another instance's (or batch's) view of the same resolver: min/max times, sums, unions.
  void merge(const ResolverStats& other) noexcept;
};

/// A run: what the API hands out and reads back.
struct RunSnapshot {
  RunKey key;  // the read capability (only creation and a GET that presented it know it)
  RunId id;    // key.id(): the name inside probe tokens
  TimePoint created;
  TimePoint expires;
  std::uint16_t probes = 0;              // probe names handed out (1..probes)
  std::uint8_t key_id = 0;               // the key that minted them (Key::id)
  std::vector<ResolverStats> resolvers;  // in order first seen
  std::uint64_t dropped = 0;             // queries from resolvers beyond the cap
  std::uint64_t lost = 0;                // observations an instance could not store (buffer full)
  bool incomplete = false;               // lost > 0, or an instance lost observations of unknown runs meanwhile
  std::vector<ReportStats> reports;      // what VPN servers reported of its probe names (issue 16)
  std::uint64_t reports_dropped = 0;     // reports of destinations beyond kMaxReportDestinations
};

enum class RecordOutcome : std::uint8_t {
  Recorded,    // stored (a new resolver, or counted on a known one)
  Queued,      // handed to a background writer (Redis): stored within milliseconds
  UnknownRun,  // the store knows no such live run: nothing stored
  CapDropped,  // the run already holds max_resolvers_per_run addresses; counted as dropped
  Overflow,    // the writer's buffer is full (Redis unreachable too long): counted as lost
};

enum class StoreError : std::uint8_t {
  Full,         // max_runs alive
  Unavailable,  // the shared store cannot be reached now
  NotFound,     // no such run, or it expired
};

/// A short reason for an API error body.
std::string_view describe(StoreError e) noexcept;

/// For metrics and the operator's /status.
struct StoreStatus {
  std::string kind;              // "memory" or "redis"
  bool connected = true;         // Redis reachable (memory: always)
  std::int64_t runs = -1;        // runs alive, where cheaply known (memory); -1 otherwise
  std::uint64_t buffered = 0;    // observations waiting for the writer
  std::uint64_t written = 0;     // observations written to the shared store
  std::uint64_t overflowed = 0;  // observations lost because the buffer was full
  std::string error;             // why the shared store was last unusable ("" while it works)
};

class Store {
 public:
  virtual ~Store() = default;
  /// Records one observation. Data plane: never blocks on I/O, never throws.
  virtual RecordOutcome record(const Observation& o) noexcept = 0;

  using Created = std::function<void(std::expected<void, StoreError>)>;
  /// Stores a fresh run (key, id, times and probe count filled in). `done` runs exactly once, now
  /// or later on another thread. May throw std::bad_alloc before `done` is called.
  virtual void create(const RunSnapshot& run, Created done) = 0;

  using Found = std::function<void(std::expected<RunSnapshot, StoreError>)>;
  /// The run named by `key` with every instance's observations; `done` as for create().
  virtual void get(const RunKey& key, Found done) = 0;

  using Kept = std::function<void(std::size_t kept)>;
  /// Keeps VPN servers' reports with their runs (the oldest beyond kMaxReportsPerRun go first);
  /// reports of unknown or expired runs are not kept. `done` as for create(), with how many were.
  virtual void add_reports(std::vector<ReportObservation> reports, Kept done) = 0;

  /// Counters for metrics; cheap, any thread.
  [[nodiscard]] virtual StoreStatus status() = 0;
};

}  // namespace dnsfence::witness
