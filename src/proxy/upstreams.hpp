#pragma once
// The provider's trusted resolvers. The UpstreamTable (control plane) gives each distinct upstream
// address one small index for the life of the process, so that a reload never makes an index
// mean another server: an in-flight query, a health state or a counter keeps referring to the
// upstream it was meant for. Each upstream's health (UpstreamHealth) is one state shared by every
// worker, with hysteresis: it leaves the rotation after `max_failures` consecutive missed answers
// (queries or health checks; any answer resets the count), so a lame delegation whose names time
// out while the rest answer is not a dead upstream; it returns after `rise` consecutive answers
// (health checks, sent by one worker per interval). The UpstreamPool is one worker's view of the
// current set. With every upstream down, queries still go to one of them (round robin): a
// fleet-wide outage should not turn into certain SERVFAIL.

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/net.hpp"
#include "io/udp_batch.hpp"

namespace dnsfence::proxy {

/// One upstream's health, shared by every worker without a lock. In steady state (answers keep
/// coming) the hot path only reads it, so its cache line is not bounced between workers.
class alignas(64) UpstreamHealth {
 public:
  /// In rotation, no failure counted, a health check due at once: a new upstream.
  void reset() noexcept;
  [[nodiscard]] bool up() const noexcept { return up_.load(std::memory_order_relaxed); }
  /// It answered (a query or a health check): the failure count restarts; out of rotation, the
  /// `rise`-th consecutive answer brings it back.
  void answered(std::uint32_t rise) noexcept;
  /// It missed a deadline: the `max_failures`-th consecutive miss takes it out of rotation.
  void failed(std::uint32_t max_failures) noexcept;
  /// True for exactly one caller once `now_ns` reaches the next health check, which it must send;
  /// the one after is due `interval_ns` later.
  bool claim_probe(std::int64_t now_ns, std::int64_t interval_ns) noexcept;
  /// How many times it left the rotation.
  [[nodiscard]] std::uint64_t downs() const noexcept { return downs_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> up_{true};
  std::atomic<std::uint32_t> failures_{0};
  std::atomic<std::uint32_t> successes_{0};  // consecutive answers while out of rotation
  std::atomic<std::int64_t> next_probe_ns_{0};
  std::atomic<std::uint64_t> downs_{0};
};

/// Every upstream index's health, owned by the Server for the life of the process.
using HealthTable = std::array<UpstreamHealth, common::kMaxUpstreams>;

/// When an upstream leaves and rejoins the rotation (serve.upstream_max_failures, upstream_rise).
struct HealthPolicy {
  std::uint32_t max_failures = 5;
  std::uint32_t rise = 1;
};

/// The upstreams in use after a (re)load, by stable index. An immutable snapshot shared with
/// the workers.
struct UpstreamSet {
  struct Entry {
    std::uint8_t index = 0;  // in the UpstreamTable, < common::kMaxUpstreams
    common::SocketAddress address;
  };
  std::vector<Entry> entries;
  std::vector<std::uint8_t> renamed;  // indices that named another, long departed, upstream before
  HealthTable* health = nullptr;      // shared by every worker; nullptr: each pool keeps its own
  HealthPolicy policy;
};

/// Control plane: the upstream addresses this process has used, each with a fixed index for as
/// long as it is in the set and `grace_ns` after it left (longer than any query's deadline, so
/// nothing in flight or being health-checked refers to it any more).
class UpstreamTable {
 public:
  explicit UpstreamTable(std::int64_t grace_ns = 0) noexcept : grace_ns_(grace_ns) {}
  /// The set for `list` at time `now_ns`. A known address keeps its index; a new one takes the
  /// next free index or, once all common::kMaxUpstreams are taken, the index of the upstream
  /// that left the set longest ago, at least grace_ns before (listed in `renamed`). Fails,
  /// changing nothing, when no index is free.
  std::expected<UpstreamSet, std::string> assign(const std::vector<common::SocketAddress>& list,
                                                 std::int64_t now_ns = 0);
  [[nodiscard]] std::size_t size() const noexcept { return known_.size(); }

 private:
  struct Known {
    common::SocketAddress address;
    std::int64_t left_ns = -1;  // when it left the set; -1: in the current set
  };
  std::int64_t grace_ns_;
  std::vector<Known> known_;
};

class UpstreamPool {
 public:
  struct Upstream {
    common::SocketAddress address;
    bool active = false;   // in the current set
    bool probing = false;  // this worker has a health check in flight
  };

  UpstreamPool() = default;
  explicit UpstreamPool(const UpstreamSet& set) noexcept { update(set); }
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  /// Makes `set` the current upstreams. The health of those already current is untouched; those
  /// removed get no new query and no health check (queries already sent to them complete or
  /// time out as usual). New ones are reset by whoever publishes the set (Server), or here when
  /// the set brings no shared health table.
  void update(const UpstreamSet& set) noexcept;
  /// A current upstream in rotation, chosen at random; nullopt only when there is none.
  std::optional<std::uint8_t> pick(std::uint64_t random) noexcept;
  /// The upstream answered (a query or a probe).
  void answered(std::uint8_t i) noexcept {
    if (i < common::kMaxUpstreams) (*health_)[i].answered(policy_.rise);
  }
  /// The upstream missed a deadline.
  void timed_out(std::uint8_t i) noexcept {
    if (i < common::kMaxUpstreams) (*health_)[i].failed(policy_.max_failures);
  }
  /// Sends the health checks due: each current upstream is checked every `interval_ns` by one
  /// worker (whichever claims it first), and by this one only when its previous check is done.
  template <typename F>
  void due_probes(std::int64_t now_ns, std::int64_t interval_ns, F&& send_probe) {
    for (const std::uint8_t i : active()) {
      auto& u = upstreams_[i];
      if (u.probing || !(*health_)[i].claim_probe(now_ns, interval_ns)) continue;
      u.probing = send_probe(i);
    }
  }
  void probe_done(std::uint8_t i) noexcept {
    if (i < upstreams_.size()) upstreams_[i].probing = false;
  }

  /// Any index below common::kMaxUpstreams, current or not.
  [[nodiscard]] const Upstream& operator[](std::uint8_t i) const noexcept { return upstreams_[i]; }
  /// Whether upstream `i` is in rotation (the shared state).
  [[nodiscard]] bool up(std::uint8_t i) const noexcept { return (*health_)[i].up(); }
  /// The indices of the current upstreams, in configuration order.
  [[nodiscard]] std::span<const std::uint8_t> active() const noexcept { return {active_.data(), count_}; }

 private:
  std::array<Upstream, common::kMaxUpstreams> upstreams_{};
  std::array<std::uint8_t, common::kMaxUpstreams> active_{};
  std::size_t count_ = 0;
  std::size_t next_fallback_ = 0;
  HealthTable own_{};  // without a shared table (unit tests, one worker)
  HealthTable* health_ = &own_;
  HealthPolicy policy_;
};

}  // namespace dnsfence::proxy
