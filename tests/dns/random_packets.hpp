#pragma once
// Test support: seeded random DNS messages that are valid by construction (random-case names,
// compression pointers, RDATA of common types, EDNS with random options), and mutations of them.
// Used by the libknot differential test; deterministic for a given seed.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "dns/types.hpp"

namespace dnsfence::dns::testing {

/// A generated message and where the generator put the fields mutations aim at.
struct Generated {
  std::vector<std::uint8_t> bytes;
  std::vector<std::size_t> pointers;   // offsets of compression pointers
  std::vector<std::size_t> rdlengths;  // offsets of RDLENGTH fields
};

/// The ways a valid message is broken.
enum class Mutation : std::uint8_t { BitFlips, Truncate, Count, Pointer, RdLength, Insert, Delete };
inline constexpr std::size_t kMutations = 7;

/// The mutation's name, for divergence reports.
inline std::string_view mutation_name(Mutation m) {
  constexpr std::string_view kNames[] = {"bit-flips", "truncate", "count", "pointer", "rdlength", "insert", "delete"};
  return kNames[static_cast<std::size_t>(m)];
}

/// Draws messages and mutations from one seeded generator.
class PacketGenerator {
 public:
  explicit PacketGenerator(std::uint32_t seed) : rng_(seed) {}

  /// A valid message: a query or a response with up to 12 records and, often, an OPT record.
  Generated next() {
    g_ = Generated{};
    suffixes_.clear();
    const std::uint16_t qd = chance(92) ? 1 : 0;
    const auto an = static_cast<std::uint16_t>(below(7));
    const auto ns = static_cast<std::uint16_t>(below(3));
    const auto ar = static_cast<std::uint16_t>(below(3));
    const bool opt = chance(70);
    const std::size_t opt_at = below(ar + 1U);
    u16(static_cast<std::uint16_t>(below(65536)));  // ID
    u16(static_cast<std::uint16_t>(below(65536)));  // flags: any opcode, QR, RCODE
    for (std::uint16_t count : {qd, an, ns, static_cast<std::uint16_t>(ar + (opt ? 1 : 0))}) u16(count);
    if (qd == 1) {
      name(false);
      u16(pick_type());
      u16(chance(90) ? rrclass::IN : static_cast<std::uint16_t>(below(65536)));
    }
    for (std::size_t i = 0; i < an + ns; ++i) record();
    for (std::size_t i = 0; i <= ar; ++i) {
      if (opt && i == opt_at) opt_record();
      if (i < ar) record();
    }
    return std::move(g_);
  }

  /// A copy of `g` broken in one way (which is returned in `kind`).
  std::vector<std::uint8_t> mutate(const Generated& g, Mutation& kind) {
    std::vector<std::uint8_t> p = g.bytes;
    kind = static_cast<Mutation>(below(kMutations));
    if (kind == Mutation::Pointer && g.pointers.empty()) kind = Mutation::BitFlips;
    if (kind == Mutation::RdLength && g.rdlengths.empty()) kind = Mutation::Count;
    switch (kind) {
      case Mutation::BitFlips:
        for (std::size_t n = 1 + below(3); n > 0; --n) p[below(p.size())] ^= static_cast<std::uint8_t>(1U << below(8));
        break;
      case Mutation::Truncate:
        p.resize(1 + below(p.size() - 1));
        break;
      case Mutation::Count:
        set16(p, 4 + 2 * below(4), static_cast<std::uint16_t>(below(8)));
        break;
      case Mutation::Pointer:
        set16(p, pick(g.pointers), static_cast<std::uint16_t>(0xc000U | below(p.size() + 8)));
        break;
      case Mutation::RdLength: {
        const std::size_t at = pick(g.rdlengths);
        set16(p, at, static_cast<std::uint16_t>(((p[at] << 8) | p[at + 1]) + below(9) - 4));
        break;
      }
      case Mutation::Insert:
        p.insert(p.begin() + static_cast<std::ptrdiff_t>(below(p.size() + 1)), static_cast<std::uint8_t>(below(256)));
        break;
      case Mutation::Delete:
        p.erase(p.begin() + static_cast<std::ptrdiff_t>(below(p.size())));
        break;
    }
    return p;
  }

 private:
  struct Suffix {
    std::uint16_t offset;  // where a label starts
    std::size_t length;    // decompressed wire length from there, root included
  };

  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool chance(unsigned percent) { return below(100) < percent; }
  std::size_t pick(const std::vector<std::size_t>& v) { return v[below(v.size())]; }
  void u8(std::uint8_t v) { g_.bytes.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void random_bytes(std::size_t n) {
    for (; n > 0; --n) u8(static_cast<std::uint8_t>(below(256)));
  }
  static void set16(std::vector<std::uint8_t>& p, std::size_t at, std::uint16_t v) {
    if (at + 1 >= p.size()) return;
    p[at] = static_cast<std::uint8_t>(v >> 8);
    p[at + 1] = static_cast<std::uint8_t>(v);
  }

  std::uint16_t pick_type() {
    constexpr std::uint16_t kTypes[] = {rrtype::A,   rrtype::AAAA, rrtype::NS,  rrtype::CNAME, rrtype::PTR,
                                        rrtype::MX,  rrtype::TXT,  rrtype::SOA, rrtype::SVCB,  rrtype::HTTPS,
                                        rrtype::ANY, rrtype::DS,   rrtype::SRV, rrtype::AXFR,  65280};
    return kTypes[below(std::size(kTypes))];
  }

  // A label of 1..63 octets: mostly letters, digits and '-' in random case, sometimes any octet.
  std::vector<std::uint8_t> label() {
    static constexpr std::string_view kChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    const bool any_octet = chance(10);
    std::vector<std::uint8_t> out(chance(95) ? 1 + below(15) : 1 + below(63));
    for (auto& c : out) c = any_octet ? static_cast<std::uint8_t>(below(256)) : kChars[below(kChars.size())];
    return out;
  }

  // Writes a name: a few labels, then the root or (when `compress`) a pointer to a suffix of an
  // earlier name. Each label written becomes a target for later pointers.
  void name(bool compress) {
    const Suffix* tail = compress && !suffixes_.empty() && chance(70) ? &suffixes_[below(suffixes_.size())] : nullptr;
    std::size_t total = tail ? tail->length : 1;
    std::vector<std::vector<std::uint8_t>> labels;
    for (std::size_t n = below(tail ? 3 : 6); n > 0; --n) {
      auto l = label();
      if (total + 1 + l.size() > kMaxNameLength) break;
      total += 1 + l.size();
      labels.push_back(std::move(l));
    }
    const Suffix target = tail ? *tail : Suffix{};  // a copy: the pushes below may reallocate
    for (const auto& l : labels) {
      if (g_.bytes.size() < 0x3fff) suffixes_.push_back({static_cast<std::uint16_t>(g_.bytes.size()), total});
      total -= 1 + l.size();
      u8(static_cast<std::uint8_t>(l.size()));
      g_.bytes.insert(g_.bytes.end(), l.begin(), l.end());
    }
    if (!tail) return u8(0);
    g_.pointers.push_back(g_.bytes.size());
    u16(static_cast<std::uint16_t>(0xc000U | target.offset));
  }

  void rdata(std::uint16_t type) {
    switch (type) {
      case rrtype::A:
        return random_bytes(4);
      case rrtype::AAAA:
        return random_bytes(16);
      case rrtype::NS:
      case rrtype::CNAME:
      case rrtype::PTR:
        return name(true);
      case rrtype::MX:
        u16(static_cast<std::uint16_t>(below(100)));  // preference
        return name(true);
      case rrtype::SOA:
        name(true);  // MNAME
        name(true);  // RNAME
        return random_bytes(20);
      case rrtype::TXT:
        for (std::size_t n = 1 + below(3); n > 0; --n) {
          const std::size_t len = below(40);
          u8(static_cast<std::uint8_t>(len));
          random_bytes(len);
        }
        return;
      default:
        return random_bytes(below(30));  // an unknown type: opaque (RFC 3597)
    }
  }

  void record() {
    constexpr std::uint16_t kTypes[] = {rrtype::A,  rrtype::AAAA, rrtype::NS,  rrtype::CNAME, rrtype::PTR,
                                        rrtype::MX, rrtype::TXT,  rrtype::SOA, 65280,         65534};
    const std::uint16_t type = kTypes[below(std::size(kTypes))];
    name(true);
    u16(type);
    u16(chance(90) ? rrclass::IN : rrclass::CH);
    u32(static_cast<std::uint32_t>(below(1U << 31)));
    end_rdata(type);
  }

  // RDLENGTH, then the RDATA, then RDLENGTH patched to what was written.
  void end_rdata(std::uint16_t type) {
    const std::size_t at = g_.bytes.size();
    g_.rdlengths.push_back(at);
    u16(0);
    if (type == rrtype::OPT) {
      for (std::size_t n = below(5); n > 0; --n) edns_option();
    } else {
      rdata(type);
    }
    set16(g_.bytes, at, static_cast<std::uint16_t>(g_.bytes.size() - at - 2));
  }

  void edns_option() {
    constexpr std::uint16_t kCodes[] = {ednsopt::NSID, ednsopt::ClientSubnet, ednsopt::Cookie, ednsopt::Padding, 15,
                                        65001};
    u16(chance(90) ? kCodes[below(std::size(kCodes))] : static_cast<std::uint16_t>(below(65536)));
    const std::size_t len = below(25);
    u16(static_cast<std::uint16_t>(len));
    random_bytes(len);
  }

  void opt_record() {
    constexpr std::uint16_t kSizes[] = {512, 1232, 1400, 4096, 65535};
    u8(0);
    u16(rrtype::OPT);
    u16(chance(80) ? kSizes[below(std::size(kSizes))] : static_cast<std::uint16_t>(below(65536)));
    u8(chance(90) ? 0 : static_cast<std::uint8_t>(below(256)));  // extended RCODE
    u8(chance(80) ? 0 : static_cast<std::uint8_t>(below(256)));  // version
    u16(static_cast<std::uint16_t>(below(65536)));               // DO and Z
    end_rdata(rrtype::OPT);
  }

  std::mt19937 rng_;
  Generated g_;
  std::vector<Suffix> suffixes_;
};

}  // namespace dnsfence::dns::testing
