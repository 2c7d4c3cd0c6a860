#include "detector/inventory.hpp"

#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/spawn.hpp"
#include "detector/resolved.hpp"

namespace dnsfence::detector {
namespace {

namespace fs = std::filesystem;

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Splits on any of `seps`, dropping empty pieces.
std::vector<std::string_view> split(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const auto at = s.find_first_of(seps);
    if (at != 0) out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

std::optional<IpAddress> address(std::string_view token) {
  token = token.substr(0, token.find('%'));
  auto a = IpAddress::parse(token);
  return a ? std::optional(*a) : std::nullopt;
}

std::vector<std::string_view> lines(std::string_view text) {
  return split(text, "\n");
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void add(Inventory& inv, const std::vector<IpAddress>& addrs, const std::string& origin, const std::string& link) {
  for (const auto& a : addrs) inv.resolvers.push_back(Resolver{a, origin, link});
}

class ResolvConfSource final : public InventorySource {
 public:
  explicit ResolvConfSource(std::string path) : path_(std::move(path)) {}
  [[nodiscard]] std::string name() const override { return path_; }
  void collect(Inventory& out) override {
    std::error_code ec;
    if (!fs::exists(path_, ec)) {
      out.notes.push_back(path_ + ": absent");
      return;
    }
    for (const auto& [a, zone] : parse_resolv_conf_zones(read_file(path_))) {
      out.resolvers.push_back(Resolver{a, path_, zone});
    }
  }

 private:
  std::string path_;
};

// Lease files in a directory; the link is taken from the file name. A lease counts only when its
// address is on an interface of this namespace (see make_lease_source).
class LeaseDirSource final : public InventorySource {
 public:
  using Parser = std::vector<IpAddress> (*)(std::string_view);
  LeaseDirSource(std::string dir, std::string kind, Parser parse, LocalAddresses local)
      : dir_(std::move(dir)), kind_(std::move(kind)), parse_(parse), local_(std::move(local)) {}
  [[nodiscard]] std::string name() const override { return kind_ + " leases"; }
  void collect(Inventory& out) override {
    std::error_code ec;
    std::vector<std::pair<std::string, IpAddress>> here;
    bool read_here = false;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      if (!e.is_regular_file(ec)) continue;
      const std::string text = read_file(e.path());
      const auto dns = parse_(text);
      if (dns.empty()) continue;
      if (!read_here) here = local_(), read_here = true;
      const std::string link = link_of(e.path());
      const std::string file = "dhcp:" + e.path().string();
      const auto leased = lease_address(text, kind_);
      const bool ours = leased && std::ranges::any_of(here, [&](const auto& la) {
                          return la.second == *leased && (link.empty() || la.first == link);
                        });
      if (!ours) {
        out.notes.push_back(file + ": ignored, " +
                            (leased ? "its address " + leased->to_string() + " is not on " +
                                          (link.empty() ? std::string("any interface") : link) +
                                          " in this network namespace (another namespace's or a stale lease)"
                                    : std::string("it names no leased address to tie it to this namespace")));
        continue;
      }
      add(out, dns, file + " (its address " + leased->to_string() + " is on " + link_here(here, *leased) + ")", link);
    }
    if (ec) out.notes.push_back(name() + ": " + dir_ + " unreadable or absent");
  }

 private:
  static std::string link_here(const std::vector<std::pair<std::string, IpAddress>>& here, const IpAddress& a) {
    for (const auto& [ifname, addr] : here) {
      if (addr == a) return ifname;
    }
    return "?";
  }
  std::string link_of(const fs::path& p) const {
    const std::string stem = p.stem().string();
    if (kind_ == "systemd-networkd") {  // files are named by ifindex
      std::array<char, IF_NAMESIZE> buf{};
      const unsigned idx = static_cast<unsigned>(std::atoi(stem.c_str()));
      return idx != 0 && if_indextoname(idx, buf.data()) != nullptr ? std::string(buf.data()) : "";
    }
    const auto dot = stem.rfind('.');  // dhclient.eth0.leases -> eth0; eth0.env -> eth0
    return dot == std::string::npos ? stem : stem.substr(dot + 1);
  }
  std::string dir_;
  std::string kind_;
  Parser parse_;
  LocalAddresses local_;
};

std::vector<IpAddress> networkd(std::string_view t) {
  return parse_env_lease(t, "DNS");
}
std::vector<IpAddress> udhcpc(std::string_view t) {
  return parse_env_lease(t, "dns");
}

// NetworkManager through nmcli's terse output: GENERAL.DEVICE:eth0 then IP4.DNS[1]:192.0.2.1.
class NetworkManagerSource final : public InventorySource {
 public:
  [[nodiscard]] std::string name() const override { return "NetworkManager"; }
  void collect(Inventory& out) override {
    const auto run = common::spawn({"nmcli", "-t", "-f", "GENERAL.DEVICE,IP4.DNS,IP6.DNS", "device", "show"},
                                   {.input = "", .max_output = 1U << 20});
    if (!run.ok() || run.out.empty()) {
      out.notes.push_back("NetworkManager: not running or nmcli absent");
      return;
    }
    const std::string& text = run.out;
    std::string link;
    for (auto line : lines(text)) {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const auto key = line.substr(0, colon);
      const auto value = trim(line.substr(colon + 1));
      if (key == "GENERAL.DEVICE") link = std::string(value);
      if (key.starts_with("IP4.DNS") || key.starts_with("IP6.DNS")) {
        if (auto a = address(value)) out.resolvers.push_back(Resolver{*a, "NetworkManager", link});
      }
    }
  }
};

}  // namespace

std::vector<std::pair<IpAddress, std::string>> parse_resolv_conf_zones(std::string_view text) {
  std::vector<std::pair<IpAddress, std::string>> out;
  for (auto line : lines(text)) {
    line = line.substr(0, line.find_first_of("#;"));
    const auto words = split(line, " \t\r");
    if (words.size() < 2 || words[0] != "nameserver") continue;
    const auto pct = words[1].find('%');
    if (auto a = address(words[1])) {
      out.emplace_back(*a, pct == std::string_view::npos ? "" : std::string(words[1].substr(pct + 1)));
    }
  }
  return out;
}

std::vector<IpAddress> parse_resolv_conf(std::string_view text) {
  std::vector<IpAddress> out;
  for (const auto& [a, zone] : parse_resolv_conf_zones(text)) out.push_back(a);
  return out;
}

std::optional<IpAddress> lease_address(std::string_view text, std::string_view kind) {
  std::optional<IpAddress> last;
  for (auto line : lines(text)) {
    line = trim(line);
    std::string_view value;
    if (kind == "dhclient" && line.starts_with("fixed-address ")) {
      value = trim(line.substr(14));
      if (value.ends_with(';')) value.remove_suffix(1);
    } else if (kind == "systemd-networkd" && line.starts_with("ADDRESS=")) {
      value = line.substr(8);
    } else if (kind == "udhcpc" && line.starts_with("ip=")) {
      value = line.substr(3);
    } else {
      continue;
    }
    if (auto a = address(trim(value))) last = *a;  // dhclient: a later lease replaces the earlier
  }
  return last;
}

std::vector<std::pair<std::string, IpAddress>> namespace_addresses() {
  std::vector<std::pair<std::string, IpAddress>> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)) continue;
    const socklen_t len = i->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (auto a = SocketAddress::from_sockaddr(i->ifa_addr, len)) out.emplace_back(i->ifa_name, a->ip());
  }
  ::freeifaddrs(list);
  return out;
}

std::unique_ptr<InventorySource> make_lease_source(std::string dir, std::string kind, LocalAddresses local) {
  LeaseDirSource::Parser parse = &parse_dhclient_leases;
  if (kind == "systemd-networkd") parse = &networkd;
  if (kind == "udhcpc") parse = &udhcpc;
  return std::make_unique<LeaseDirSource>(std::move(dir), std::move(kind), parse, std::move(local));
}

std::vector<IpAddress> parse_dhclient_leases(std::string_view text) {
  std::vector<IpAddress> last;
  for (auto line : lines(text)) {
    line = trim(line);
    constexpr std::string_view kKey = "option domain-name-servers ";
    if (!line.starts_with(kKey)) continue;
    line.remove_prefix(kKey.size());
    last.clear();  // a later lease replaces the earlier ones
    for (auto token : split(line, ", ;")) {
      if (auto a = address(token)) last.push_back(*a);
    }
  }
  return last;
}

std::vector<IpAddress> parse_env_lease(std::string_view text, std::string_view key) {
  std::vector<IpAddress> out;
  for (auto line : lines(text)) {
    line = trim(line);
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != '=') continue;
    for (auto token : split(line.substr(key.size() + 1), " \t,\"'")) {
      if (auto a = address(token)) out.push_back(*a);
    }
  }
  return out;
}

std::vector<std::unique_ptr<InventorySource>> linux_sources(const std::string& resolv_conf) {
  std::vector<std::unique_ptr<InventorySource>> v;
  v.push_back(std::make_unique<ResolvConfSource>(resolv_conf));
  v.push_back(make_resolved_source());
  v.push_back(std::make_unique<NetworkManagerSource>());
  v.push_back(make_lease_source("/var/lib/dhcp", "dhclient", &namespace_addresses));
  v.push_back(make_lease_source("/run/systemd/netif/leases", "systemd-networkd", &namespace_addresses));
  v.push_back(make_lease_source("/run/udhcpc", "udhcpc", &namespace_addresses));
  return v;
}

Inventory collect_inventory(const std::vector<std::unique_ptr<InventorySource>>& sources) {
  Inventory inv;
  for (const auto& s : sources) s->collect(inv);
  std::vector<Resolver> unique;
  for (auto& r : inv.resolvers) {
    const bool dup = std::ranges::any_of(
        unique, [&](const Resolver& u) { return u.address == r.address && u.origin == r.origin && u.link == r.link; });
    if (!dup) unique.push_back(std::move(r));
  }
  inv.resolvers = std::move(unique);
  return inv;
}

}  // namespace dnsfence::detector
