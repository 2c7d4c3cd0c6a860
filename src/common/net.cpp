#include "common/net.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace dnsfence::common {
namespace {

std::expected<unsigned, std::string> parse_number(std::string_view text, unsigned max, const char* what) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v > max)
    return std::unexpected(std::string("invalid ") + what + " '" + std::string(text) + "'");
  return v;
}

}  // namespace

std::expected<IpAddress, std::string> IpAddress::parse(std::string_view text) {
  const std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes_.data()) == 1) {
    a.family_ = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes_.data()) == 1) {
    a.family_ = AF_INET6;
    return a;
  }
  return std::unexpected("invalid IP address '" + s + "'");
}

IpAddress IpAddress::from_v4(const in_addr& in) noexcept {
  IpAddress a;
  a.family_ = AF_INET;
  std::memcpy(a.bytes_.data(), &in, 4);
  return a;
}

IpAddress IpAddress::from_v6(const in6_addr& in) noexcept {
  IpAddress a;
  if (IN6_IS_ADDR_V4MAPPED(&in)) {
    a.family_ = AF_INET;
    std::memcpy(a.bytes_.data(), in.s6_addr + 12, 4);
    return a;
  }
  a.family_ = AF_INET6;
  std::memcpy(a.bytes_.data(), in.s6_addr, 16);
  return a;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family_, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::expected<SocketAddress, std::string> SocketAddress::parse(std::string_view text, std::uint16_t default_port) {
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::unexpected("missing ']' in '" + std::string(text) + "'");
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':'))
      return std::unexpected("expected ':PORT' after ']' in '" + std::string(text) + "'");
    if (!rest.empty()) port = rest.substr(1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  auto ip = IpAddress::parse(host);
  if (!ip) return std::unexpected(ip.error());
  if (port.empty()) {
    if (default_port == 0) return std::unexpected("missing port in '" + std::string(text) + "'");
    return SocketAddress(*ip, default_port);
  }
  auto p = parse_number(port, 65535, "port");
  if (!p) return std::unexpected(p.error());
  return SocketAddress(*ip, static_cast<std::uint16_t>(*p));
}

SocketAddress::SocketAddress() noexcept : sa_{} {
  sa_.v4.sin_family = AF_INET;
}

SocketAddress::SocketAddress(const IpAddress& ip, std::uint16_t port) noexcept : sa_{} {
  if (ip.is_v4()) {
    sa_.v4.sin_family = AF_INET;
    sa_.v4.sin_port = htons(port);
    std::memcpy(&sa_.v4.sin_addr, ip.bytes().data(), 4);
  } else {
    sa_.v6.sin6_family = AF_INET6;
    sa_.v6.sin6_port = htons(port);
    std::memcpy(&sa_.v6.sin6_addr, ip.bytes().data(), 16);
  }
}

std::expected<SocketAddress, std::string> SocketAddress::from_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return SocketAddress(IpAddress::from_v4(in->sin_addr), ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    SocketAddress a(IpAddress::from_v6(in6->sin6_addr), ntohs(in6->sin6_port));
    if (!a.is_v4()) a.sa_.v6.sin6_scope_id = in6->sin6_scope_id;
    return a;
  }
  return std::unexpected("unsupported address family " + std::to_string(sa->sa_family));
}

std::optional<SocketAddress> SocketAddress::from_kernel(const void* sa, socklen_t len) noexcept {
  SocketAddress a;
  std::memcpy(a.kernel_storage(), sa, std::min<std::size_t>(len, kCapacity));
  if (!a.adopt(len)) return std::nullopt;
  return a;
}

bool SocketAddress::adopt(socklen_t len) noexcept {
  const bool v4 = sa_.v4.sin_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in));
  const bool v6 = sa_.v6.sin6_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6));
  if (v4) std::memset(sa_.v4.sin_zero, 0, sizeof sa_.v4.sin_zero);  // == compares fields, but keep it clean
  if (v4 || v6) return true;
  *this = SocketAddress();
  return false;
}

IpAddress SocketAddress::ip() const noexcept {
  return is_v4() ? IpAddress::from_v4(sa_.v4.sin_addr) : IpAddress::from_v6(sa_.v6.sin6_addr);
}

std::uint16_t SocketAddress::port() const noexcept {
  return ntohs(is_v4() ? sa_.v4.sin_port : sa_.v6.sin6_port);
}

socklen_t SocketAddress::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  const socklen_t len = sockaddr_len();
  std::memcpy(&out, &sa_, len);
  return len;
}

std::string SocketAddress::to_string() const {
  const std::string text = ip().to_string();
  return (is_v4() ? text : "[" + text + "]") + ":" + std::to_string(port());
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  if (a.family() != b.family()) return false;
  if (a.is_v4()) return a.sa_.v4.sin_port == b.sa_.v4.sin_port && a.sa_.v4.sin_addr.s_addr == b.sa_.v4.sin_addr.s_addr;
  return a.sa_.v6.sin6_port == b.sa_.v6.sin6_port && a.sa_.v6.sin6_scope_id == b.sa_.v6.sin6_scope_id &&
         std::memcmp(&a.sa_.v6.sin6_addr, &b.sa_.v6.sin6_addr, sizeof(in6_addr)) == 0;
}

std::expected<Prefix, std::string> Prefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::unexpected(ip.error());
  const unsigned max = ip->is_v4() ? 32 : 128;
  unsigned length = max;
  if (slash != std::string_view::npos) {
    auto n = parse_number(text.substr(slash + 1), max, "prefix length");
    if (!n) return std::unexpected(n.error());
    length = *n;
  }
  for (unsigned bit = length; bit < max; ++bit)
    if ((ip->bytes()[bit / 8] >> (7 - bit % 8)) & 1U)
      return std::unexpected("host bits set in prefix '" + std::string(text) + "'");
  return Prefix(*ip, length);
}

bool Prefix::contains(const IpAddress& a) const noexcept {
  if (a.family() != network_.family()) return false;
  const auto& x = a.bytes();
  const auto& n = network_.bytes();
  const unsigned full = length_ / 8;
  if (std::memcmp(x.data(), n.data(), full) != 0) return false;
  const unsigned rest = length_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (x[full] & mask) == (n[full] & mask);
}

std::string Prefix::to_string() const {
  return network_.to_string() + "/" + std::to_string(length_);
}

}  // namespace dnsfence::common
