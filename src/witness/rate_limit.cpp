#include "witness/rate_limit.hpp"

#include <algorithm>

namespace dnsfence::witness {

common::Prefix client_prefix(const common::IpAddress& address, unsigned v4_prefix, unsigned v6_prefix) noexcept {
  const unsigned length = address.is_v4() ? v4_prefix : v6_prefix;
  std::array<std::uint8_t, 16> bytes = address.bytes();
  for (std::size_t i = 0; i < address.size(); ++i) {
    const unsigned kept = length > 8 * i ? std::min(8U, length - 8 * static_cast<unsigned>(i)) : 0U;
    bytes[i] = static_cast<std::uint8_t>(bytes[i] & (kept == 0 ? 0U : 0xffU << (8 - kept)));
  }
  in6_addr a6{};
  std::copy(bytes.begin(), bytes.end(), a6.s6_addr);
  if (!address.is_v4()) return common::Prefix(common::IpAddress::from_v6(a6), length);
  in_addr a4{};
  std::copy(bytes.begin(), bytes.begin() + 4, reinterpret_cast<std::uint8_t*>(&a4.s_addr));
  return common::Prefix(common::IpAddress::from_v4(a4), length);
}

std::size_t PrefixRateLimiter::PrefixHash::operator()(const common::Prefix& p) const noexcept {
  std::size_t h = 1469598103934665603ULL ^ p.length();  // FNV-1a
  for (std::size_t i = 0; i < p.network().size(); ++i) h = (h ^ p.network().bytes()[i]) * 1099511628211ULL;
  return h;
}

void PrefixRateLimiter::refill(Bucket& b, Steady::time_point now) const noexcept {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - b.updated).count();
  if (ms <= 0) return;
  b.units = std::min(std::int64_t{limit_.burst} * kUnit, b.units + ms * std::int64_t{limit_.per_minute});
  b.updated += std::chrono::milliseconds(ms);
}

void PrefixRateLimiter::make_room(Steady::time_point now) {
  // Buckets that refilled completely are indistinguishable from fresh ones: forgetting them
  // changes nothing. Only if every tracked client is still throttled does one go at random.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.units >= std::int64_t{limit_.burst} * kUnit ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() >= limit_.max_tracked) buckets_.erase(buckets_.begin());
}

std::optional<std::chrono::milliseconds> PrefixRateLimiter::acquire(const common::IpAddress& client,
                                                                    Steady::time_point now) {
  if (limit_.per_minute == 0) return std::nullopt;
  const common::Prefix key = client_prefix(client, limit_.v4_prefix, limit_.v6_prefix);
  const std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_tracked) make_room(now);
    it = buckets_.emplace(key, Bucket{std::int64_t{limit_.burst} * kUnit, now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  if (b.units >= kUnit) {
    b.units -= kUnit;
    return std::nullopt;
  }
  const std::int64_t per_ms = limit_.per_minute;
  return std::chrono::milliseconds((kUnit - b.units + per_ms - 1) / per_ms);
}

std::size_t PrefixRateLimiter::tracked() const {
  const std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace dnsfence::witness
