#pragma once
// Domain names: validated references into a packet (no copy) and an owned in-place form for
// configuration. Comparison is ASCII case-insensitive and label-wise (RFC 4343).

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace dnsfence::dns {

/// A validated name inside a packet: where it starts, its decompressed wire length (root octet
/// included, 1..255) and its label count (root excluded). Meaningful only with its packet.
struct NameRef {
  std::uint16_t offset = 0;
  std::uint8_t length = 1;
  std::uint8_t labels = 0;
};

/// Reads the name at the reader's position and advances past its in-place encoding. A compression
/// pointer must point before the run of labels that holds it and never into the header, so every
/// jump goes further back: loops and forward pointers are rejected.
/// Fails with the first broken rule; the reader is then failed too.
std::expected<NameRef, ParseError> read_name(Reader& r) noexcept;

/// A name owned in uncompressed wire form, stored in place (no heap). Used for configured names,
/// zones and SOA fields.
class Name {
 public:
  /// The root name.
  Name() noexcept { wire_[0] = 0; }

  /// Parses presentation format: "use-application-dns.net", a trailing dot optional, "." is the
  /// root, "\." and "\DDD" escapes. Fails with a static reason on empty or over-long labels/names.
  static std::expected<Name, std::string_view> from_text(std::string_view text) noexcept;
  /// Copies (decompressing) a validated name out of its packet.
  static Name from_packet(Bytes packet, NameRef ref) noexcept;

  [[nodiscard]] Bytes wire() const noexcept { return Bytes(wire_.data(), length_); }
  [[nodiscard]] std::size_t labels() const noexcept { return labels_; }
  /// Presentation format with a trailing dot, escaping as dig does.
  [[nodiscard]] std::string to_text() const;

  /// Case-insensitive equality.
  friend bool operator==(const Name& a, const Name& b) noexcept;

 private:
  std::array<std::uint8_t, kMaxNameLength> wire_{};
  std::uint8_t length_ = 1;
  std::uint8_t labels_ = 0;
};

/// True if `name` (in `packet`) equals `other`, ignoring ASCII case.
bool equals(Bytes packet, NameRef name, const Name& other) noexcept;
/// True if two names, each in its own packet, are equal ignoring ASCII case.
bool equals(Bytes packet_a, NameRef a, Bytes packet_b, NameRef b) noexcept;
/// True if `name` equals `suffix` or lies below it, label by label: "evil-x.net" is not under
/// "x.net", "a.x.net" and "X.NET" are.
bool is_subdomain(Bytes packet, NameRef name, const Name& suffix) noexcept;
/// Presentation format of a name in a packet, with a trailing dot (allocates: control plane).
std::string to_text(Bytes packet, NameRef name);

}  // namespace dnsfence::dns
