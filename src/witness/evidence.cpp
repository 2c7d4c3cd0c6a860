#include "witness/evidence.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <cstring>

namespace dnsfence::witness {
namespace {

// Appends one character-string (length octet + text) to the writer.
void put(dns::Writer& w, const char* text) noexcept {
  const std::size_t n = std::strlen(text);
  w.u8(static_cast<std::uint8_t>(n));
  w.bytes(dns::Bytes(reinterpret_cast<const std::uint8_t*>(text), n));
}

// "ecs=ADDR/PREFIX" from an EDNS Client Subnet option (RFC 7871 6), or "ecs=malformed".
void format_ecs(dns::Bytes data, std::span<char> out) noexcept {
  dns::Reader r(data);
  const std::uint16_t family = r.u16();
  const std::uint8_t source = r.u8();
  r.u8();  // scope prefix: always 0 in queries
  const std::size_t max_bits = family == 2 ? 128 : 32;
  const dns::Bytes addr = r.bytes(r.remaining());
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (!r.ok() || (family != 1 && family != 2) || source > max_bits || addr.size() != (source + 7U) / 8U) {
    std::snprintf(out.data(), out.size(), "ecs=malformed");
    return;
  }
  std::array<std::uint8_t, 16> bytes{};
  if (!addr.empty()) std::memcpy(bytes.data(), addr.data(), addr.size());
  inet_ntop(family == 2 ? AF_INET6 : AF_INET, bytes.data(), text.data(), text.size());
  std::snprintf(out.data(), out.size(), "ecs=%s/%u", text.data(), static_cast<unsigned>(source));
}

}  // namespace

bool format_address(const common::IpAddress& address, std::span<char> out) noexcept {
  return inet_ntop(address.family(), address.bytes().data(), out.data(), static_cast<socklen_t>(out.size())) != nullptr;
}

std::size_t write_evidence(const dns::Message& query, const Peer& peer, const Token& token,
                           std::span<std::uint8_t> out) noexcept {
  dns::Writer w(out);
  std::array<char, INET6_ADDRSTRLEN> addr{};
  std::array<char, 96> line{};
  if (!format_address(peer.endpoint.ip(), addr)) return 0;
  std::snprintf(line.data(), line.size(), "resolver=%s", addr.data());
  put(w, line.data());
  std::snprintf(line.data(), line.size(), "port=%u", static_cast<unsigned>(peer.endpoint.port()));
  put(w, line.data());
  put(w, peer.transport == dns::Transport::Tcp ? "transport=tcp" : "transport=udp");
  const auto& edns = query.edns();
  if (edns) {
    std::snprintf(line.data(), line.size(), "edns=%u", static_cast<unsigned>(edns->udp_size));
    put(w, line.data());
    put(w, edns->do_bit ? "do=1" : "do=0");
  } else {
    put(w, "edns=none");
    put(w, "do=0");
  }
  std::snprintf(line.data(), line.size(), "ecs=none");
  for (const auto& option : query.edns_options()) {
    if (option.code == dns::ednsopt::ClientSubnet) format_ecs(option.data, line);
  }
  put(w, line.data());
  std::array<char, 17> run{};
  for (std::size_t i = 0; i < 8; ++i) std::snprintf(run.data() + 2 * i, 3, "%02x", token.run.bytes[i]);
  std::snprintf(line.data(), line.size(), "run=%s", run.data());
  put(w, line.data());
  std::snprintf(line.data(), line.size(), "probe=%u", static_cast<unsigned>(token.probe));
  put(w, line.data());
  return w.ok() ? w.size() : 0;
}

}  // namespace dnsfence::witness
