// Tunnel detection (declared in inventory.hpp): the interface type from sysfs, the default route
// from the RouteOracle, the addresses from getifaddrs.
#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "detector/inventory.hpp"

namespace dnsfence::detector {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "wireguard", "tun", "ppp" or "" when the interface is no tunnel.
std::string tunnel_kind(const std::string& ifname) {
  const fs::path dir = fs::path("/sys/class/net") / ifname;
  std::error_code ec;
  if (slurp(dir / "uevent").find("DEVTYPE=wireguard") != std::string::npos) return "wireguard";
  if (fs::exists(dir / "tun_flags", ec)) return "tun";
  const std::string type = slurp(dir / "type");
  if (type.starts_with("65534")) return "tun";  // ARPHRD_NONE: layer-3 tunnels
  if (type.starts_with("512")) return "ppp";
  return "";
}

bool is_up(const std::string& ifname) {
  const std::string flags = slurp(fs::path("/sys/class/net") / ifname / "flags");
  return !flags.empty() && (std::stoul(flags, nullptr, 16) & IFF_UP) != 0;
}

unsigned prefix_length(const sockaddr* mask) {
  if (mask == nullptr) return 0;
  const auto* b = mask->sa_family == AF_INET
                      ? reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr)
                      : reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
  const int n = mask->sa_family == AF_INET ? 4 : 16;
  unsigned len = 0;
  for (int i = 0; i < n; ++i) len += static_cast<unsigned>(__builtin_popcount(b[i]));
  return len;
}

}  // namespace

std::optional<common::Prefix> interface_prefix(const sockaddr* addr, const sockaddr* netmask) {
  if (addr == nullptr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)) return std::nullopt;
  const bool v4 = addr->sa_family == AF_INET;
  auto sa = SocketAddress::from_sockaddr(addr, v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  if (!sa) return std::nullopt;
  // Keep the network, not the host (Prefix::parse rejects host bits when reports are re-read), for
  // both families: a VPN resolver inside the tunnel's IPv6 prefix is the VPN's as much as one
  // inside its IPv4 prefix.
  const unsigned len = std::min<unsigned>(prefix_length(netmask), static_cast<unsigned>(sa->ip().size() * 8));
  auto bytes = sa->ip().bytes();
  for (unsigned bit = len; bit < sa->ip().size() * 8; ++bit)
    bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  if (v4) {
    in_addr a{};
    std::memcpy(&a, bytes.data(), 4);
    return common::Prefix(IpAddress::from_v4(a), len);
  }
  in6_addr a{};
  std::memcpy(&a, bytes.data(), 16);
  return common::Prefix(IpAddress::from_v6(a), len);
}

namespace {

std::vector<common::Prefix> addresses_of(const std::string& ifname) {
  std::vector<common::Prefix> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || ifname != i->ifa_name) continue;
    if (auto p = interface_prefix(i->ifa_addr, i->ifa_netmask)) out.push_back(*p);
  }
  freeifaddrs(list);
  return out;
}

Tunnel make(const std::string& ifname, std::string kind, std::string how) {
  return Tunnel{ifname, static_cast<int>(if_nametoindex(ifname.c_str())), std::move(kind), std::move(how),
                addresses_of(ifname)};
}

}  // namespace

std::optional<Tunnel> detect_tunnel(const std::string& declared, RouteOracle& routes) {
  if (!declared.empty()) {
    const std::string kind = tunnel_kind(declared);
    return make(declared, kind.empty() ? "declared" : kind, "--tunnel");
  }
  // The route an application's packet to a public address takes (documentation address: only looked up).
  for (const char* probe : {"203.0.113.1", "2001:db8::1"}) {
    const RouteFact r = routes.lookup(*IpAddress::parse(probe), 53, 0);
    if (r.error.empty() && !r.ifname.empty()) {
      if (std::string kind = tunnel_kind(r.ifname); !kind.empty()) return make(r.ifname, kind, "default route");
    }
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/class/net", ec)) {
    const std::string name = e.path().filename().string();
    if (std::string kind = tunnel_kind(name); !kind.empty() && is_up(name)) return make(name, kind, "interface scan");
  }
  return std::nullopt;
}

}  // namespace dnsfence::detector
