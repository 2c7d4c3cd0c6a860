#include "io/client_limit.hpp"

#include <sys/random.h>

#include <bit>
#include <cstring>

namespace dnsfence::io {

struct ClientLimit::Entry {
  common::IpAddress ip;
  std::uint32_t count = 0;  // 0: empty slot
};

namespace {

// A keyed mix of the address: a client cannot choose addresses that collide on purpose without
// knowing the seed (and a collision only lengthens a probe sequence; counts stay exact).
std::uint64_t hash(const common::IpAddress& ip, std::uint64_t seed) noexcept {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::memcpy(&a, ip.bytes().data(), 8);
  std::memcpy(&b, ip.bytes().data() + 8, 8);
  std::uint64_t h = seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ std::rotl(b * 0xc2b2ae3d27d4eb4fULL, 31) ^
                    static_cast<std::uint64_t>(ip.family());
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

ClientLimit::ClientLimit(std::uint32_t per_client, std::uint32_t max_connections)
    : per_client_(per_client),
      // At most max_connections addresses at once: a table twice that size stays half empty.
      mask_(std::bit_ceil(2 * static_cast<std::size_t>(std::max<std::uint32_t>(max_connections, 8))) - 1),
      seed_(0),
      table_(std::make_unique<Entry[]>(mask_ + 1)) {
  if (getrandom(&seed_, sizeof seed_, 0) != static_cast<ssize_t>(sizeof seed_))
    seed_ = reinterpret_cast<std::uintptr_t>(this);
}

ClientLimit::~ClientLimit() = default;

std::size_t ClientLimit::find(const common::IpAddress& ip) const noexcept {
  std::size_t i = hash(ip, seed_) & mask_;
  while (table_[i].count != 0 && table_[i].ip != ip) i = (i + 1) & mask_;
  return i;
}

bool ClientLimit::acquire(const common::IpAddress& ip) noexcept {
  if (per_client_ == 0) return true;
  const std::lock_guard lock(mutex_);
  const std::size_t i = find(ip);
  Entry& e = table_[i];
  if (e.count >= per_client_) return false;
  if (e.count == 0) {
    if (used_ >= mask_) return false;  // more addresses than connections: cannot happen, but never loop
    e.ip = ip;
    ++used_;
  }
  ++e.count;
  return true;
}

void ClientLimit::release(const common::IpAddress& ip) noexcept {
  if (per_client_ == 0) return;
  const std::lock_guard lock(mutex_);
  const std::size_t i = find(ip);
  if (table_[i].count == 0) return;
  if (--table_[i].count == 0) {
    erase(i);
    --used_;
  }
}

void ClientLimit::erase(std::size_t slot) noexcept {
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  std::size_t hole = slot;
  for (std::size_t j = (hole + 1) & mask_; table_[j].count != 0; j = (j + 1) & mask_) {
    const std::size_t home = hash(table_[j].ip, seed_) & mask_;
    // Move j into the hole if its home is not cyclically within (hole, j].
    const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (stays) continue;
    table_[hole] = table_[j];
    hole = j;
  }
  table_[hole].count = 0;
}

std::uint32_t ClientLimit::count(const common::IpAddress& ip) const noexcept {
  const std::lock_guard lock(mutex_);
  return table_[find(ip)].count;
}

}  // namespace dnsfence::io
