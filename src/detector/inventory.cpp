#include "detector/inventory.hpp"

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
    add(out, parse_resolv_conf(read_file(path_)), path_, "");
  }

 private:
  std::string path_;
};

// Lease files in a directory, each parsed by `parse`; the link is taken from the file name.
class LeaseDirSource final : public InventorySource {
 public:
  using Parser = std::vector<IpAddress> (*)(std::string_view);
  LeaseDirSource(std::string dir, std::string kind, Parser parse)
      : dir_(std::move(dir)), kind_(std::move(kind)), parse_(parse) {}
  [[nodiscard]] std::string name() const override { return kind_ + " leases"; }
  void collect(Inventory& out) override {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      if (!e.is_regular_file(ec)) continue;
      add(out, parse_(read_file(e.path())), "dhcp:" + e.path().string(), link_of(e.path()));
    }
    if (ec) out.notes.push_back(name() + ": " + dir_ + " unreadable or absent");
  }

 private:
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

std::vector<IpAddress> parse_resolv_conf(std::string_view text) {
  std::vector<IpAddress> out;
  for (auto line : lines(text)) {
    line = line.substr(0, line.find_first_of("#;"));
    const auto words = split(line, " \t\r");
    if (words.size() >= 2 && words[0] == "nameserver") {
      if (auto a = address(words[1])) out.push_back(*a);
    }
  }
  return out;
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
  v.push_back(std::make_unique<LeaseDirSource>("/var/lib/dhcp", "dhclient", &parse_dhclient_leases));
  v.push_back(std::make_unique<LeaseDirSource>("/run/systemd/netif/leases", "systemd-networkd", &networkd));
  v.push_back(std::make_unique<LeaseDirSource>("/run/udhcpc", "udhcpc", &udhcpc));
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
