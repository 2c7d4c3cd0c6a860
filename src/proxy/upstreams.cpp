#include "proxy/upstreams.hpp"

#include <algorithm>

namespace dnsfence::proxy {

std::expected<UpstreamSet, std::string> UpstreamTable::assign(const std::vector<common::SocketAddress>& list) {
  std::vector<common::SocketAddress> known = known_;
  UpstreamSet set;
  for (const auto& a : list) {
    auto it = std::find(known.begin(), known.end(), a);
    if (it == known.end()) {
      if (known.size() == common::kMaxUpstreams)
        return std::unexpected("serve.upstreams: " + a.to_string() + " would be distinct upstream number " +
                               std::to_string(known.size() + 1) + " of this process, more than " +
                               std::to_string(common::kMaxUpstreams) + "; restart to use it");
      it = known.insert(known.end(), a);
    }
    set.entries.push_back({static_cast<std::uint8_t>(it - known.begin()), a});
  }
  known_ = std::move(known);
  return set;
}

void UpstreamPool::update(const UpstreamSet& set) noexcept {
  std::array<bool, common::kMaxUpstreams> was_current{};
  for (std::size_t i = 0; i < upstreams_.size(); ++i) {
    was_current[i] = upstreams_[i].active;
    upstreams_[i].active = false;
  }
  count_ = 0;
  for (const auto& e : set.entries) {
    if (e.index >= upstreams_.size() || upstreams_[e.index].active) continue;  // a repeat
    auto& u = upstreams_[e.index];
    u.active = true;
    u.address = io::Peer::from(e.address);
    if (!was_current[e.index]) {
      // New, or back after a reload removed it: in rotation, checked at once. `probing` stays as
      // it is: a health check still in flight clears it when it completes or times out.
      u.up = true;
      u.next_probe_ns = 0;
    }
    active_[count_++] = e.index;
  }
}

std::optional<std::uint8_t> UpstreamPool::pick(std::uint64_t random) noexcept {
  if (count_ == 0) return std::nullopt;
  std::array<std::uint8_t, common::kMaxUpstreams> live{};
  std::size_t n = 0;
  for (const std::uint8_t i : active())
    if (upstreams_[i].up) live[n++] = i;
  if (n > 0) return live[random % n];
  next_fallback_ = (next_fallback_ + 1) % count_;
  return active_[next_fallback_];
}

void UpstreamPool::answered(std::uint8_t i) noexcept {
  if (i < upstreams_.size()) upstreams_[i].up = true;
}

void UpstreamPool::timed_out(std::uint8_t i) noexcept {
  if (i < upstreams_.size()) upstreams_[i].up = false;
}

}  // namespace dnsfence::proxy
