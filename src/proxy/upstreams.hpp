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
};

/// Control plane: the distinct upstream addresses this process has used, each with a fixed index.
class UpstreamTable {
 public:
  /// The set for `list`, giving addresses not seen before the next free indices. Fails, changing
  /// nothing, when that would make more than common::kMaxUpstreams distinct upstreams.
  std::expected<UpstreamSet, std::string> assign(const std::vector<common::SocketAddress>& list);
  [[nodiscard]] std::size_t size() const noexcept { return known_.size(); }

 private:
  std::vector<common::SocketAddress> known_;
};

class UpstreamPool {
 public:
  struct Upstream {
    io::Peer address;
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
