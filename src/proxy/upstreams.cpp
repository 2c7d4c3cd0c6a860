#include "proxy/upstreams.hpp"

#include <algorithm>

namespace dnsfence::proxy {

std::expected<UpstreamSet, std::string> UpstreamTable::assign(const std::vector<common::SocketAddress>& list,
                                                              std::int64_t now_ns) {
  auto listed = [&](const common::SocketAddress& a) { return std::find(list.begin(), list.end(), a) != list.end(); };
  std::vector<Known> known = known_;
  UpstreamSet set;
  for (const auto& a : list) {
    auto it = std::find_if(known.begin(), known.end(), [&](const Known& k) { return k.address == a; });
    if (it == known.end() && known.size() < common::kMaxUpstreams) {
      it = known.insert(known.end(), Known{a});
    } else if (it == known.end()) {
      // Every index taken: the one whose upstream left longest ago, if past the grace period.
      auto oldest = known.end();
      for (auto k = known.begin(); k != known.end(); ++k)
        if (k->left_ns >= 0 && now_ns - k->left_ns >= grace_ns_ && !listed(k->address) &&
            (oldest == known.end() || k->left_ns < oldest->left_ns))
          oldest = k;
      if (oldest == known.end())
        return std::unexpected("serve.upstreams: " + a.to_string() + " needs an upstream index, and all " +
                               std::to_string(common::kMaxUpstreams) +
                               " are in use or held for queries still in flight to upstreams removed less than " +
                               std::to_string(grace_ns_ / 1'000'000) + " ms ago; reload again later");
      it = oldest;
      it->address = a;
      set.renamed.push_back(static_cast<std::uint8_t>(it - known.begin()));
    }
    set.entries.push_back({static_cast<std::uint8_t>(it - known.begin()), a});
  }
  for (auto& k : known) {
    if (listed(k.address))
      k.left_ns = -1;
    else if (k.left_ns < 0)
      k.left_ns = now_ns;
  }
  known_ = std::move(known);
  return set;
}

void UpstreamHealth::reset() noexcept {
  failures_.store(0, std::memory_order_relaxed);
  successes_.store(0, std::memory_order_relaxed);
  next_probe_ns_.store(0, std::memory_order_relaxed);
  up_.store(true, std::memory_order_relaxed);
}

void UpstreamHealth::answered(std::uint32_t rise) noexcept {
  // Written only when it changes: an upstream that keeps answering costs every worker one read.
  if (failures_.load(std::memory_order_relaxed) != 0) failures_.store(0, std::memory_order_relaxed);
  if (up()) return;
  if (successes_.fetch_add(1, std::memory_order_relaxed) + 1 >= rise) {
    successes_.store(0, std::memory_order_relaxed);
    up_.store(true, std::memory_order_relaxed);
  }
}

void UpstreamHealth::failed(std::uint32_t max_failures) noexcept {
  if (successes_.load(std::memory_order_relaxed) != 0) successes_.store(0, std::memory_order_relaxed);
  const std::uint32_t n = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  bool was_up = true;
  // Exactly one of the workers that see the count reach the limit takes it out (and counts it).
  if (n >= max_failures && up_.compare_exchange_strong(was_up, false, std::memory_order_relaxed))
    downs_.fetch_add(1, std::memory_order_relaxed);
}

bool UpstreamHealth::claim_probe(std::int64_t now_ns, std::int64_t interval_ns) noexcept {
  std::int64_t due = next_probe_ns_.load(std::memory_order_relaxed);
  if (now_ns < due) return false;
  return next_probe_ns_.compare_exchange_strong(due, now_ns + interval_ns, std::memory_order_relaxed);
}

void UpstreamPool::update(const UpstreamSet& set) noexcept {
  health_ = set.health != nullptr ? set.health : &own_;
  policy_ = set.policy;
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
    u.address = e.address;
    // `probing` stays as it is: a health check still in flight clears it when it completes.
    if (!was_current[e.index] && set.health == nullptr) own_[e.index].reset();
    active_[count_++] = e.index;
  }
}

std::optional<std::uint8_t> UpstreamPool::pick(std::uint64_t random) noexcept {
  if (count_ == 0) return std::nullopt;
  std::array<std::uint8_t, common::kMaxUpstreams> live{};
  std::size_t n = 0;
  for (const std::uint8_t i : active())
    if ((*health_)[i].up()) live[n++] = i;
  if (n > 0) return live[random % n];
  next_fallback_ = (next_fallback_ + 1) % count_;
  return active_[next_fallback_];
}

}  // namespace dnsfence::proxy
