#pragma once
// IP addresses, socket addresses and prefixes, parsed from and printed to text. Shared by the
// proxy, the firewall, the witness and the detector so that they read addresses the same way.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace dnsfence::common {

/// An IPv4 or IPv6 address (v4 is never stored v4-mapped).
class IpAddress {
 public:
  IpAddress() = default;
  /// Parses "192.0.2.1" or "2001:db8::1" (no brackets, no zone index).
  static std::expected<IpAddress, std::string> parse(std::string_view text);
  static IpAddress from_v4(const in_addr& a) noexcept;
  static IpAddress from_v6(const in6_addr& a) noexcept;

  [[nodiscard]] int family() const noexcept { return family_; }
  [[nodiscard]] bool is_v4() const noexcept { return family_ == AF_INET; }
  /// 4 or 16 significant octets, network order.
  [[nodiscard]] const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t size() const noexcept { return is_v4() ? 4 : 16; }
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  int family_ = AF_INET;
  std::array<std::uint8_t, 16> bytes_{};
};

/// An address and a port: "127.0.0.1:53", "[::1]:5353"; the port may be defaulted when absent.
class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(IpAddress ip, std::uint16_t port) noexcept : ip_(ip), port_(port) {}
  /// Parses "ADDR:PORT", "[V6]:PORT", or a bare address with `default_port` (0: port required).
  static std::expected<SocketAddress, std::string> parse(std::string_view text, std::uint16_t default_port = 0);
  /// From a kernel address (AF_INET or AF_INET6; v4-mapped v6 is unmapped).
  static std::expected<SocketAddress, std::string> from_sockaddr(const sockaddr* sa, socklen_t len);

  [[nodiscard]] const IpAddress& ip() const noexcept { return ip_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// Fills `out`; returns the length to pass to bind/connect/sendto.
  socklen_t to_sockaddr(sockaddr_storage& out) const noexcept;
  /// "192.0.2.1:53" or "[2001:db8::1]:53".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;

 private:
  IpAddress ip_;
  std::uint16_t port_ = 0;
};

/// An address prefix: "10.0.0.0/8", "fd00::/8"; a bare address is a host prefix (/32, /128).
class Prefix {
 public:
  Prefix() = default;
  /// Fails if the length is out of range or host bits are set ("10.0.0.1/8").
  static std::expected<Prefix, std::string> parse(std::string_view text);
  Prefix(IpAddress network, unsigned length) noexcept : network_(network), length_(length) {}

  [[nodiscard]] const IpAddress& network() const noexcept { return network_; }
  [[nodiscard]] unsigned length() const noexcept { return length_; }
  [[nodiscard]] bool contains(const IpAddress& a) const noexcept;
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Prefix&, const Prefix&) = default;

 private:
  IpAddress network_;
  unsigned length_ = 0;
};

}  // namespace dnsfence::common
