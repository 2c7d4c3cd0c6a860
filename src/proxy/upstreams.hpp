#pragma once
// The provider's trusted resolvers. The UpstreamTable (control plane) gives each distinct upstream
// address one small index for the life of the process, so that a reload never makes an index
// mean another server: an in-flight query, a health state or a counter keeps referring to the
// upstream it was meant for. The UpstreamPool is one worker's view of the current set: which are
// in rotation, and when each must next be health-checked. An upstream that misses one answer (a
// query or a probe) leaves the rotation at once, so a dead upstream costs at most one timeout per
// query that was already on its way to it; it returns when it answers a probe. With every
// upstream down, queries still go to one of them (round robin): a fleet-wide outage should not
// turn into certain SERVFAIL.

#include <array>
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

/// The upstreams in use after a (re)load, by stable index. An immutable snapshot shared with
/// the workers.
struct UpstreamSet {
  struct Entry {
    std::uint8_t index = 0;  // in the UpstreamTable, < common::kMaxUpstreams
    common::SocketAddress address;
  };
  std::vector<Entry> entries;
  std::vector<std::uint8_t> renamed;  // indices that named another, long departed, upstream before
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
    bool up = true;        // in rotation
    bool probing = false;  // a health check is in flight
    std::int64_t next_probe_ns = 0;
  };

  UpstreamPool() = default;
  explicit UpstreamPool(const UpstreamSet& set) noexcept { update(set); }

  /// Makes `set` the current upstreams. Those already current keep their health state; those
  /// removed leave the rotation and are no longer probed (queries already sent to them complete
  /// or time out as usual); new ones start in rotation with a health check due at once.
  void update(const UpstreamSet& set) noexcept;
  /// A current upstream in rotation, chosen at random; nullopt only when there is none.
  std::optional<std::uint8_t> pick(std::uint64_t random) noexcept;
  /// The upstream answered (a query or a probe): back in rotation.
  void answered(std::uint8_t i) noexcept;
  /// The upstream missed a deadline: out of rotation until it answers a probe.
  void timed_out(std::uint8_t i) noexcept;
  /// Current upstreams whose next health check is due; marks them probing and schedules the next.
  template <typename F>
  void due_probes(std::int64_t now_ns, std::int64_t interval_ns, F&& send_probe) {
    for (const std::uint8_t i : active()) {
      auto& u = upstreams_[i];
      if (u.probing || now_ns < u.next_probe_ns) continue;
      u.next_probe_ns = now_ns + interval_ns;
      u.probing = send_probe(i);
    }
  }
  void probe_done(std::uint8_t i) noexcept {
    if (i < upstreams_.size()) upstreams_[i].probing = false;
  }

  /// Any index below common::kMaxUpstreams, current or not.
  [[nodiscard]] const Upstream& operator[](std::uint8_t i) const noexcept { return upstreams_[i]; }
  /// The indices of the current upstreams, in configuration order.
  [[nodiscard]] std::span<const std::uint8_t> active() const noexcept { return {active_.data(), count_}; }

 private:
  std::array<Upstream, common::kMaxUpstreams> upstreams_{};
  std::array<std::uint8_t, common::kMaxUpstreams> active_{};
  std::size_t count_ = 0;
  std::size_t next_fallback_ = 0;
};

}  // namespace dnsfence::proxy
