#include "policy/name_table.hpp"

#include <algorithm>
#include <array>
#include <bit>

namespace dnsfence::policy {
namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr std::uint64_t kTagMask = 0xffffffff00000000ULL;

std::uint8_t lower(std::uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

// The slot index comes from the high-quality mix of the hash (murmur3's finaliser), so names
// that differ only in a last letter still land far apart.
std::uint64_t mix(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb93fe53a87f7ULL;
  return h ^ (h >> 33);
}

// Hashes every suffix of an uncompressed wire name at once, from the root leftwards: the hash of
// a suffix is FNV-1a of its last label continued by each label before it (length octet first,
// lowercase), so the whole name costs one pass. Returns how many labels (suffixes but the root)
// were hashed: starts[i] is where suffix i begins, hashes[i] its hash.
std::size_t suffix_hashes(const std::uint8_t* wire, std::size_t length, std::array<std::uint8_t, 129>& starts,
                          std::array<std::uint64_t, 129>& hashes) noexcept {
  std::size_t n = 0;
  for (std::size_t pos = 0; pos < length && wire[pos] != 0 && n + 1 < starts.size(); pos += 1 + wire[pos])
    starts[n++] = static_cast<std::uint8_t>(pos);
  std::uint64_t h = kFnvOffset;
  for (std::size_t i = n; i-- > 0;) {
    const std::size_t at = starts[i];
    const std::size_t len = wire[at];
    h = (h ^ len) * kFnvPrime;
    for (std::size_t b = 1; b <= len; ++b) h = (h ^ lower(wire[at + b])) * kFnvPrime;
    hashes[i] = h;
  }
  return n;
}

}  // namespace

void NameTable::add(const dns::Name& name, std::uint32_t value) {
  const auto wire = name.wire();
  std::array<std::uint8_t, 129> starts{};
  std::array<std::uint64_t, 129> hashes{};
  const std::size_t n = suffix_hashes(wire.data(), wire.size(), starts, hashes);
  Key k{n == 0 ? kFnvOffset : hashes[0], static_cast<std::uint32_t>(arena_.size()), value,
        static_cast<std::uint8_t>(wire.size())};
  for (const std::uint8_t c : wire) arena_.push_back(lower(c));
  keys_.push_back(k);
}

void NameTable::build() {
  // At most half full: probe chains stay short. Duplicates: the smaller value wins.
  const std::size_t capacity = std::bit_ceil(std::max<std::size_t>(16, keys_.size() * 2));
  slots_.assign(capacity, 0);
  mask_ = capacity - 1;
  for (std::uint32_t i = 0; i < keys_.size(); ++i) {
    const Key& k = keys_[i];
    if (Key* same = const_cast<Key*>(find(k.hash, arena_.data() + k.offset, k.length))) {
      same->value = std::min(same->value, k.value);
      continue;
    }
    const std::uint64_t m = mix(k.hash);
    for (std::uint64_t s = m & mask_;; s = (s + 1) & mask_) {
      if (slots_[s] == 0) {
        slots_[s] = (m & kTagMask) | (i + 1);
        break;
      }
    }
  }
}

const NameTable::Key* NameTable::find(std::uint64_t hash, const std::uint8_t* wire, std::size_t length) const noexcept {
  if (slots_.empty()) return nullptr;
  const std::uint64_t m = mix(hash);
  for (std::uint64_t s = m & mask_; slots_[s] != 0; s = (s + 1) & mask_) {
    // The slot's tag (the mixed hash's high half) settles nearly every miss without reading the
    // key: one cache line per label probed, even when the table is far larger than the cache.
    if ((slots_[s] & kTagMask) != (m & kTagMask)) continue;
    const Key& k = keys_[(slots_[s] & ~kTagMask) - 1];
    if (k.hash != hash || k.length != length) continue;
    const std::uint8_t* stored = arena_.data() + k.offset;
    if (std::equal(wire, wire + length, stored, [](std::uint8_t a, std::uint8_t b) { return lower(a) == b; }))
      return &k;
  }
  return nullptr;
}

dns::Name NameTable::name(std::size_t i) const noexcept {
  const Key& k = keys_[i];
  return dns::Name::from_packet(dns::Bytes(arena_.data() + k.offset, k.length), dns::NameRef{0, k.length, 0});
}

std::optional<std::uint32_t> NameTable::match(dns::Bytes packet, dns::NameRef name) const noexcept {
  if (keys_.empty()) return std::nullopt;
  const dns::Name flat = dns::Name::from_packet(packet, name);  // decompressed, on the stack
  const auto wire = flat.wire();
  // Not zeroed (a kilobyte per query): suffix_hashes writes every entry that is read.
  std::array<std::uint8_t, 129> starts;   // NOLINT(cppcoreguidelines-pro-type-member-init)
  std::array<std::uint64_t, 129> hashes;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  const std::size_t n = suffix_hashes(wire.data(), wire.size(), starts, hashes);
  starts[n] = static_cast<std::uint8_t>(wire.size() - 1);  // and the root, "."
  hashes[n] = kFnvOffset;
  std::optional<std::uint32_t> best;
  for (std::size_t i = 0; i <= n; ++i) {
    const Key* k = find(hashes[i], wire.data() + starts[i], wire.size() - starts[i]);
    if (k != nullptr && (!best || k->value < *best)) best = k->value;
  }
  return best;
}

}  // namespace dnsfence::policy
