#pragma once
// The fixed 12-octet DNS header (RFC 1035 4.1.1) as plain integers, with flag accessors.

#include <cstdint>

#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace dnsfence::dns {

namespace flag {
inline constexpr std::uint16_t QR = 0x8000;
inline constexpr std::uint16_t AA = 0x0400;
inline constexpr std::uint16_t TC = 0x0200;
inline constexpr std::uint16_t RD = 0x0100;
inline constexpr std::uint16_t RA = 0x0080;
inline constexpr std::uint16_t AD = 0x0020;
inline constexpr std::uint16_t CD = 0x0010;
inline constexpr std::uint16_t OpcodeMask = 0x7800;
inline constexpr std::uint16_t RcodeMask = 0x000f;
}  // namespace flag

struct Header {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;

  [[nodiscard]] bool has(std::uint16_t f) const noexcept { return (flags & f) != 0; }
  [[nodiscard]] std::uint8_t opcode() const noexcept {
    return static_cast<std::uint8_t>((flags & flag::OpcodeMask) >> 11);
  }
  [[nodiscard]] std::uint8_t rcode() const noexcept { return static_cast<std::uint8_t>(flags & flag::RcodeMask); }
};

/// Reads a header; on a short packet the reader fails and the fields are zero.
inline Header read_header(Reader& r) noexcept {
  Header h;
  h.id = r.u16();
  h.flags = r.u16();
  h.qdcount = r.u16();
  h.ancount = r.u16();
  h.nscount = r.u16();
  h.arcount = r.u16();
  return h;
}

inline void write_header(Writer& w, const Header& h) noexcept {
  w.u16(h.id);
  w.u16(h.flags);
  w.u16(h.qdcount);
  w.u16(h.ancount);
  w.u16(h.nscount);
  w.u16(h.arcount);
}

}  // namespace dnsfence::dns
