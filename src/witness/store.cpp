#include "witness/store.hpp"

#include <algorithm>

namespace dnsfence::witness {
namespace {

void add_type(ResolverStats& r, std::uint16_t type) noexcept {
  const auto end = r.types.begin() + r.type_count;
  if (std::find(r.types.begin(), end, type) == end && r.type_count < r.types.size()) r.types[r.type_count++] = type;
}

}  // namespace

void ResolverStats::count_one(const Observation& o) noexcept {
  if (count == 0 || o.at < first_seen) first_seen = o.at;
  if (count == 0 || o.at > last_seen) last_seen = o.at;
  ++count;
  (o.transport == dns::Transport::Tcp ? tcp : udp) = true;
  add_type(*this, o.qtype);
  if (o.probe < probes.size()) probes.set(o.probe);
}

void ResolverStats::merge(const ResolverStats& other) noexcept {
  if (other.count == 0) return;
  if (count == 0 || other.first_seen < first_seen) first_seen = other.first_seen;
  if (count == 0 || other.last_seen > last_seen) last_seen = other.last_seen;
  count += other.count;
  udp = udp || other.udp;
  tcp = tcp || other.tcp;
  for (std::size_t i = 0; i < other.type_count; ++i) add_type(*this, other.types[i]);
  probes |= other.probes;
}

std::string_view describe(StoreError e) noexcept {
  switch (e) {
    case StoreError::Full:
      return "too many runs alive; retry later";
    case StoreError::Unavailable:
      return "the run store is unreachable; retry later";
    case StoreError::NotFound:
      return "no such run (unknown or expired)";
  }
  return "?";
}

}  // namespace dnsfence::witness
