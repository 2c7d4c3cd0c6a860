#include "proxy/upstreams.hpp"

#include <array>

#include "proxy/stats.hpp"

namespace dnsfence::proxy {

UpstreamPool::UpstreamPool(const std::vector<common::SocketAddress>& upstreams) {
  for (const auto& a : upstreams) {
    if (upstreams_.size() == kMaxUpstreams) break;
    upstreams_.push_back({io::Peer::from(a), a});
  }
}

std::optional<std::uint8_t> UpstreamPool::pick(std::uint64_t random) noexcept {
  if (upstreams_.empty()) return std::nullopt;
  std::array<std::uint8_t, kMaxUpstreams> live{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < upstreams_.size(); ++i)
    if (upstreams_[i].up) live[n++] = static_cast<std::uint8_t>(i);
  if (n > 0) return live[random % n];
  next_fallback_ = static_cast<std::uint8_t>((next_fallback_ + 1) % upstreams_.size());
  return next_fallback_;
}

void UpstreamPool::answered(std::uint8_t i) noexcept {
  if (i < upstreams_.size()) upstreams_[i].up = true;
}

void UpstreamPool::timed_out(std::uint8_t i) noexcept {
  if (i < upstreams_.size()) upstreams_[i].up = false;
}

}  // namespace dnsfence::proxy
