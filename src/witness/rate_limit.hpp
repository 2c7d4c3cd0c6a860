#pragma once
// Run creation limited per client prefix: a token bucket per IPv4 /24 or IPv6 /56 (the share a
// single customer, household or small network usually holds), so one client creating runs as fast
// as it can empties only its own bucket and every other prefix is still served. Thread-safe; time
// is passed in (a fake clock in tests). Bounded: at most `max_tracked` prefixes are remembered;
// beyond that, buckets that have refilled (idle clients) are forgotten first.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/net.hpp"

namespace dnsfence::witness {

struct RateLimit {
  std::uint32_t per_minute = 60;  // tokens added per minute; 0: no limit
  std::uint32_t burst = 20;       // bucket size: what a fresh client may do at once
  unsigned v4_prefix = 24;
  unsigned v6_prefix = 56;
  std::size_t max_tracked = 65536;
};

/// The prefix a client address counts under ("192.0.2.0/24", "2001:db8:0:100::/56").
common::Prefix client_prefix(const common::IpAddress& address, unsigned v4_prefix, unsigned v6_prefix) noexcept;

class PrefixRateLimiter {
 public:
  using Steady = std::chrono::steady_clock;
  explicit PrefixRateLimiter(RateLimit limit) : limit_(limit) {}

  /// nullopt: allowed (one token taken). Otherwise how long until the client's next token.
  std::optional<std::chrono::milliseconds> acquire(const common::IpAddress& client, Steady::time_point now);
  /// Prefixes remembered now.
  [[nodiscard]] std::size_t tracked() const;

 private:
  // In units of 1/60000 token: a bucket gains `per_minute` units a millisecond, exactly.
  static constexpr std::int64_t kUnit = 60000;
  struct Bucket {
    std::int64_t units = 0;
    Steady::time_point updated;
  };
  struct PrefixHash {
    std::size_t operator()(const common::Prefix& p) const noexcept;
  };
  void refill(Bucket& b, Steady::time_point now) const noexcept;
  void make_room(Steady::time_point now);

  RateLimit limit_;
  mutable std::mutex mutex_;
  std::unordered_map<common::Prefix, Bucket, PrefixHash> buckets_;
};

}  // namespace dnsfence::witness
