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

std::expected<SocketAddress, std::string> SocketAddress::from_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return SocketAddress(IpAddress::from_v4(in->sin_addr), ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return SocketAddress(IpAddress::from_v6(in6->sin6_addr), ntohs(in6->sin6_port));
  }
  return std::unexpected("unsupported address family " + std::to_string(sa->sa_family));
}

socklen_t SocketAddress::to_sockaddr(sockaddr_storage& out) const noexcept {
  std::memset(&out, 0, sizeof out);
  if (ip_.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port_);
    std::memcpy(&in->sin_addr, ip_.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port_);
  std::memcpy(&in6->sin6_addr, ip_.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

std::string SocketAddress::to_string() const {
  const std::string ip = ip_.to_string();
  return (ip_.is_v4() ? ip : "[" + ip + "]") + ":" + std::to_string(port_);
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
