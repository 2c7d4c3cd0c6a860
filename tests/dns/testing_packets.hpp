#pragma once
// Test support: hand-built packets, byte by byte, so each malformed case is explicit.

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "dns/name.hpp"
#include "dns/types.hpp"

namespace dnsfence::dns::testing {

/// Appends big-endian fields and raw bytes to a growing packet.
struct PacketBytes {
  std::vector<std::uint8_t> b;
  PacketBytes& u8(std::uint8_t v) {
    b.push_back(v);
    return *this;
  }
  PacketBytes& u16(std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
    return *this;
  }
  PacketBytes& u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    return u16(static_cast<std::uint16_t>(v));
  }
  PacketBytes& raw(std::initializer_list<std::uint8_t> v) {
    b.insert(b.end(), v);
    return *this;
  }
  PacketBytes& name(std::string_view text) {
    const Name n = Name::from_text(text).value();
    b.insert(b.end(), n.wire().begin(), n.wire().end());
    return *this;
  }
  PacketBytes& header(std::uint16_t id, std::uint16_t flags, std::uint16_t qd, std::uint16_t an = 0,
                      std::uint16_t ns = 0, std::uint16_t ar = 0) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  /// An OPT record: payload size, ext-rcode/version/DO, then options already encoded in `opts`.
  PacketBytes& opt(std::uint16_t size, std::uint8_t version, bool do_bit,
                   std::initializer_list<std::uint8_t> opts = {}) {
    u8(0)
        .u16(rrtype::OPT)
        .u16(size)
        .u8(0)
        .u8(version)
        .u16(do_bit ? 0x8000 : 0)
        .u16(static_cast<std::uint16_t>(opts.size()));
    return raw(opts);
  }
};

/// A standard query (RD set) for `qname`/`qtype`, with an OPT record when `edns_size` is nonzero.
inline std::vector<std::uint8_t> query(std::string_view qname, std::uint16_t qtype = rrtype::A,
                                       std::uint16_t edns_size = 0, bool do_bit = false, std::uint16_t id = 0x1234) {
  PacketBytes p;
  p.header(id, 0x0100, 1, 0, 0, edns_size ? 1 : 0).name(qname).u16(qtype).u16(rrclass::IN);
  if (edns_size) p.opt(edns_size, 0, do_bit);
  return p.b;
}

}  // namespace dnsfence::dns::testing
