#pragma once
// An IPv4 or IPv6 address and port as a plain value (no sockaddr), with text forms for JSON,
// evidence and configuration.

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace dnsfence::witness {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4 uses the first 4

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  /// "192.0.2.1" or "2001:db8::1" (inet_ntop).
  [[nodiscard]] std::string to_text() const;
  /// Parses either family with inet_pton; nothing else (no names, no brackets, no scope ids).
  static std::expected<IpAddress, std::string_view> from_text(std::string_view text);
};

/// An address and a port: a peer, or a listen address.
struct Endpoint {
  IpAddress address;
  std::uint16_t port = 0;

  /// "192.0.2.1:53" or "[2001:db8::1]:53".
  [[nodiscard]] std::string to_text() const;
  /// Parses "ADDR:PORT" or "[ADDR6]:PORT"; `default_port` when the port is omitted ("ADDR", "[ADDR6]").
  static std::expected<Endpoint, std::string> from_text(std::string_view text, std::uint16_t default_port);
};

}  // namespace dnsfence::witness
