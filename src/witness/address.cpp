#include "witness/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace dnsfence::witness {

std::string IpAddress::to_text() const {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf.data(), buf.size()) == nullptr) return "?";
  return buf.data();
}

std::expected<IpAddress, std::string_view> IpAddress::from_text(std::string_view text) {
  const std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::unexpected("not an IPv4 or IPv6 address");
}

std::string Endpoint::to_text() const {
  const std::string a = address.to_text();
  return (address.v6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

std::expected<Endpoint, std::string> Endpoint::from_text(std::string_view text, std::uint16_t default_port) {
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::unexpected("missing ']' in \"" + std::string(text) + "\"");
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':'))
      return std::unexpected("expected ':PORT' after ']' in \"" + std::string(text) + "\"");
    if (!rest.empty()) port = rest.substr(1);
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos && text.find(':') == colon) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  Endpoint e;
  auto address = IpAddress::from_text(host);
  if (!address) return std::unexpected("\"" + std::string(host) + "\": " + std::string(address.error()));
  e.address = *address;
  e.port = default_port;
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value > 65535)
      return std::unexpected("bad port \"" + std::string(port) + "\"");
    e.port = static_cast<std::uint16_t>(value);
  }
  return e;
}

}  // namespace dnsfence::witness
