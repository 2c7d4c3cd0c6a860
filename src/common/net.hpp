#pragma once
// IP addresses, socket addresses and prefixes, parsed from and printed to text. Shared by the
// proxy, the firewall, the witness and the detector so that they read addresses the same way.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <expected>
#include <optional>
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
/// The one socket-address type of dnsfence, kept in kernel form (a `sockaddr_in` or `sockaddr_in6`
/// in 28 octets): the data plane hands it to recvmmsg/sendmmsg as it is, copies and compares it
/// without allocating, and stores it in every in-flight slot; the control plane parses and prints it.
class SocketAddress {
 public:
  /// The most octets a kernel address of either family needs (recvmsg's msg_namelen).
  static constexpr socklen_t kCapacity = sizeof(sockaddr_in6);

  SocketAddress() noexcept;  // 0.0.0.0:0
  SocketAddress(const IpAddress& ip, std::uint16_t port) noexcept;
  /// Parses "ADDR:PORT", "[V6]:PORT", or a bare address with `default_port` (0: port required).
  static std::expected<SocketAddress, std::string> parse(std::string_view text, std::uint16_t default_port = 0);
  /// From a kernel address (AF_INET or AF_INET6; v4-mapped v6 is unmapped).
  static std::expected<SocketAddress, std::string> from_sockaddr(const sockaddr* sa, socklen_t len);
  /// Data plane: a kernel address of either family as it is (no unmapping); nullopt for another
  /// family or a short length. Never allocates.
  static std::optional<SocketAddress> from_kernel(const void* sa, socklen_t len) noexcept;

  [[nodiscard]] IpAddress ip() const noexcept;
  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] int family() const noexcept { return sa_.v4.sin_family; }
  [[nodiscard]] bool is_v4() const noexcept { return family() == AF_INET; }
  /// The kernel form, for bind/connect/sendto/sendmsg.
  [[nodiscard]] const sockaddr* sockaddr_ptr() const noexcept { return reinterpret_cast<const sockaddr*>(&sa_); }
  [[nodiscard]] socklen_t sockaddr_len() const noexcept { return is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6); }
  /// Storage for the kernel to write into (kCapacity octets); call adopt() with the length it wrote.
  [[nodiscard]] void* kernel_storage() noexcept { return &sa_; }
  /// After the kernel wrote into kernel_storage(): false (and 0.0.0.0:0) unless AF_INET/AF_INET6.
  bool adopt(socklen_t len) noexcept;
  /// Fills `out`; returns the length to pass to bind/connect/sendto.
  socklen_t to_sockaddr(sockaddr_storage& out) const noexcept;
  /// "192.0.2.1:53" or "[2001:db8::1]:53".
  [[nodiscard]] std::string to_string() const;

  /// Equal family, address, port (and IPv6 scope).
  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  union {
    sockaddr_in6 v6;  // first: value-initialisation zeroes all 28 octets
    sockaddr_in v4;
  } sa_;
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
