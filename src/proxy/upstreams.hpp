#pragma once
// The provider's trusted resolvers, as seen by one worker: which are in rotation, and when each
// must next be health-checked. An upstream that misses one answer (a query or a probe) leaves the
// rotation at once, so a dead upstream costs at most one timeout per query that was already on
// its way to it; it returns when it answers a probe. With every upstream down, queries still go
// to one of them (round robin): a fleet-wide outage should not turn into certain SERVFAIL.

#include <cstdint>
#include <optional>
#include <vector>

#include "common/net.hpp"
#include "io/udp_batch.hpp"

namespace dnsfence::proxy {

class UpstreamPool {
 public:
  struct Upstream {
    io::Peer address;
    common::SocketAddress text_address;
    bool up = true;
    bool probing = false;  // a health check is in flight
    std::int64_t next_probe_ns = 0;
  };

  /// At most kMaxUpstreams addresses (the rest are ignored).
  explicit UpstreamPool(const std::vector<common::SocketAddress>& upstreams);

  /// An upstream in rotation, chosen at random; nullopt only when the pool is empty.
  std::optional<std::uint8_t> pick(std::uint64_t random) noexcept;
  /// The upstream answered (a query or a probe): back in rotation.
  void answered(std::uint8_t i) noexcept;
  /// The upstream missed a deadline: out of rotation until it answers a probe.
  void timed_out(std::uint8_t i) noexcept;
  /// Upstreams whose next health check is due; marks them probing and schedules the next one.
  template <typename F>
  void due_probes(std::int64_t now_ns, std::int64_t interval_ns, F&& send_probe) {
    for (std::size_t i = 0; i < upstreams_.size(); ++i) {
      auto& u = upstreams_[i];
      if (u.probing || now_ns < u.next_probe_ns) continue;
      u.next_probe_ns = now_ns + interval_ns;
      u.probing = send_probe(static_cast<std::uint8_t>(i));
    }
  }
  void probe_done(std::uint8_t i) noexcept { upstreams_[i].probing = false; }

  [[nodiscard]] const Upstream& operator[](std::uint8_t i) const noexcept { return upstreams_[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return upstreams_.size(); }

 private:
  std::vector<Upstream> upstreams_;
  std::uint8_t next_fallback_ = 0;
};

}  // namespace dnsfence::proxy
