#include "firewall/model.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace dnsfence::firewall {
namespace {

using common::ConfigError;
using common::FirewallConfig;
using common::Prefix;

const char* suffix(Family f) {
  return f == Family::V4 ? "v4" : "v6";
}
const char* proto_name(Proto p) {
  return p == Proto::Udp ? "udp" : "tcp";
}
constexpr Family kFamilies[] = {Family::V4, Family::V6};
constexpr Proto kProtos[] = {Proto::Udp, Proto::Tcp};

// Sorted, without duplicates and without prefixes inside another one: nft refuses overlapping
// intervals, and the kernel's listing then matches the model element for element (status).
std::vector<Prefix> normalized(std::vector<Prefix> in) {
  std::ranges::sort(in, [](const Prefix& a, const Prefix& b) {
    return a.network() != b.network() ? a.network() < b.network() : a.length() < b.length();
  });
  std::vector<Prefix> out;
  out.reserve(in.size());
  for (const auto& p : in)
    if (out.empty() || !out.back().contains(p.network())) out.push_back(p);
  return out;
}

AddressSet make_set(const std::string& base, Family f, const std::vector<Prefix>& from) {
  AddressSet s{base + "_" + suffix(f), f, {}};
  for (const auto& p : from)
    if (family_of(p) == f) s.elements.push_back(p);
  s.elements = normalized(std::move(s.elements));
  return s;
}

void add_sets(Ruleset& rs, const std::string& base, const std::vector<Prefix>& from) {
  for (const Family f : kFamilies) rs.sets.push_back(make_set(base, f, from));
}

// The allowlist can hold 100,000s of resolvers: single addresses go to hash sets (fast to load,
// no interval tree, no auto-merge rewriting the operator's list), prefixes to interval sets.
void add_allowlist_sets(Ruleset& rs, const std::vector<Prefix>& from) {
  std::vector<Prefix> hosts;
  std::vector<Prefix> nets;
  for (const auto& p : from) (is_host(p) ? hosts : nets).push_back(p);
  for (const Family f : kFamilies) {
    auto s = make_set("allow", f, hosts);
    s.interval = false;
    rs.sets.push_back(std::move(s));
  }
  add_sets(rs, "allow_net", nets);
}

// A base chain that sends VPN clients' packets to `target`: by input interface, else by source
// prefix (the `!=` keeps a client matched by both from running the target twice).
Chain dispatch(const std::string& name, Hook hook, ChainKind kind, const FirewallConfig& fw,
               const std::string& target) {
  Chain c{name, hook, kind, {}};
  if (!fw.interfaces.empty())
    c.rules.push_back({.name = "clients-by-interface",
                       .iifnames = fw.interfaces,
                       .counter = false,
                       .verdict = Verdict::Goto,
                       .goto_chain = target});
  for (const Family f : kFamilies)
    c.rules.push_back({.name = std::string("clients-by-source-") + suffix(f),
                       .iifnames = fw.interfaces,
                       .iif_negate = !fw.interfaces.empty(),
                       .saddr_set = std::string("clients_") + suffix(f),
                       .counter = false,
                       .verdict = Verdict::Goto,
                       .goto_chain = target});
  return c;
}

// Exempts allowlisted resolvers on `ports` (a return to the base chain, whose policy accepts).
void add_allow_rules(Chain& c, const std::vector<std::uint16_t>& ports, const std::string& prefix) {
  for (const bool net : {false, true})
    for (const Family f : kFamilies)
      for (const Proto p : kProtos)
        c.rules.push_back({.name = prefix + (net ? "net-" : "") + suffix(f) + "-" + proto_name(p),
                           .daddr_set = std::string(net ? "allow_net_" : "allow_") + suffix(f),
                           .proto = p,
                           .dports = ports});
}

void add_reject(Chain& c, const std::string& name, std::uint16_t port, bool reject, const std::string& daddr_set = "",
                Family family = Family::Any) {
  for (const Proto p : kProtos)
    c.rules.push_back(
        {.name = name + "-" + proto_name(p) + (daddr_set.empty() ? "" : std::string("-") + suffix(family)),
         .family = family,
         .daddr_set = daddr_set,
         .proto = p,
         .dports = {port},
         .verdict = reject ? Verdict::Reject : Verdict::Drop});
}

// The forward guard: the safety net in every mode. Whatever was not redirected or tproxied (or is
// plain-text DNS in block mode) must not leave through this server.
Chain guard_chain(const common::Config& config, bool has_doh) {
  const auto& fw = config.firewall;
  Chain c{"guard", Hook::None, ChainKind::Filter, {}};
  std::vector<std::uint16_t> ports{53};
  if (fw.block_encrypted) ports.push_back(853);
  // A redirect to a listener on another host is forwarded: it was rewritten by us, let it through.
  if (fw.mode == common::FirewallMode::Redirect) c.rules.push_back({.name = "redirected-forward", .ct_dnat = true});
  add_allow_rules(c, ports, "allowed-");
  add_reject(c, "blocked-dns", 53, fw.reject);
  if (fw.block_encrypted) add_reject(c, "blocked-dot", 853, true);
  if (has_doh)
    for (const Family f : kFamilies) add_reject(c, "blocked-doh", 443, true, std::string("doh_") + suffix(f), f);
  return c;
}

std::optional<common::SocketAddress> listener(const std::vector<common::SocketAddress>& from, Family f) {
  for (const auto& a : from)
    if (a.ip().is_v4() == (f == Family::V4)) return a;
  return std::nullopt;
}

bool is_unspecified(const common::IpAddress& ip) {
  for (std::size_t i = 0; i < ip.size(); ++i)
    if (ip.bytes()[i] != 0) return false;
  return true;
}

bool is_loopback(const common::IpAddress& ip) {
  if (ip.is_v4()) return ip.bytes()[0] == 127;
  return ip == common::IpAddress::parse("::1").value();
}

// Redirect mode: DNAT to serve's listener of the same family. A family without a listener is left
// to the forward guard, which rejects it: fail closed, never open.
Chain redirect_chain(const common::Config& config) {
  Chain c{"redirect_dns", Hook::None, ChainKind::Nat, {}};
  add_allow_rules(c, {53}, "exempt-");
  for (const Family f : kFamilies) {
    const auto to = listener(config.serve.listen, f);
    if (!to) continue;
    if (is_loopback(to->ip()))
      throw ConfigError(config.source + ": serve.listen " + to->to_string() +
                        " is loopback: forwarded queries cannot be redirected to it; listen on the server's"
                        " VPN address or on the wildcard address");
    for (const Proto p : kProtos) {
      Rule r{.name = std::string("redirected-") + suffix(f) + "-" + proto_name(p),
             .family = f,
             .proto = p,
             .dports = {53}};
      if (is_unspecified(to->ip())) {
        r.verdict = Verdict::Redirect;  // to the address of the interface the query came in on
        r.target_port = to->port();
      } else {
        r.verdict = Verdict::Dnat;
        r.target = to;
      }
      c.rules.push_back(r);
    }
  }
  return c;
}

// Tproxy mode: every query goes to serve's transparent listener, except to allowlisted resolvers
// (as in redirect mode: `allow add` takes effect at once, whatever serve's own list says); the mark
// routes it to `local` through the policy route.
Chain tproxy_chain(const common::Config& config) {
  if (config.serve.tproxy_listen.empty())
    throw ConfigError(config.source + ": firewall.mode = \"tproxy\" needs serve.tproxy_listen");
  Chain c{"tproxy_dns", Hook::None, ChainKind::Mangle, {}};
  add_allow_rules(c, {53}, "exempt-");
  for (const Family f : kFamilies) {
    const auto to = listener(config.serve.tproxy_listen, f);
    if (!to) continue;
    for (const Proto p : kProtos)
      c.rules.push_back({.name = std::string("tproxied-") + suffix(f) + "-" + proto_name(p),
                         .family = f,
                         .proto = p,
                         .dports = {53},
                         .verdict = Verdict::Tproxy,
                         .target = to,
                         .target_port = to->port(),
                         .mark = config.firewall.tproxy_mark});
  }
  return c;
}

// The config loader refuses these already; a Config built in code gets the same answer.
void check_interfaces(const common::Config& config) {
  std::vector<std::pair<const char*, std::string>> names;
  names.reserve(config.firewall.interfaces.size() + 1);
  for (const auto& i : config.firewall.interfaces) names.emplace_back("firewall.interfaces", i);
  if (!config.firewall.tunnel.empty()) names.emplace_back("firewall.tunnel", config.firewall.tunnel);
  for (const auto& [key, name] : names)
    if (auto why = common::interface_name_problem(name); !why.empty())
      throw ConfigError(config.source + ": " + key + ": " + why);
}

Ruleset build_server(const common::Config& config) {
  const auto& fw = config.firewall;
  if (fw.interfaces.empty() && fw.sources.empty())
    throw ConfigError(config.source + ": firewall.profile = \"server\" needs firewall.interfaces or firewall.sources");
  Ruleset rs;
  add_sets(rs, "clients", fw.sources);
  add_allowlist_sets(rs, config.allowlist);
  const bool has_doh = !fw.doh_addresses_file.empty();
  if (has_doh) {
    std::filesystem::path file = fw.doh_addresses_file;
    if (file.is_relative()) file = std::filesystem::path(config.source).parent_path() / file;
    add_sets(rs, "doh", load_address_file(file.string()));
  }
  rs.chains.push_back(dispatch("forward", Hook::Forward, ChainKind::Filter, fw, "guard"));
  rs.chains.push_back(guard_chain(config, has_doh));
  if (fw.mode == common::FirewallMode::Redirect) {
    rs.chains.push_back(dispatch("prerouting", Hook::Prerouting, ChainKind::Nat, fw, "redirect_dns"));
    rs.chains.push_back(redirect_chain(config));
  } else if (fw.mode == common::FirewallMode::Tproxy) {
    rs.chains.push_back(dispatch("prerouting", Hook::Prerouting, ChainKind::Mangle, fw, "tproxy_dns"));
    rs.chains.push_back(tproxy_chain(config));
    rs.policy_route = PolicyRoute{fw.tproxy_mark, fw.tproxy_table};
  }
  return rs;
}

// The paper's "first line of defence" against Type 1: DNS (53, 853) leaves only through the tunnel
// to the VPN's resolvers; local stubs on loopback keep working.
Ruleset build_client(const common::Config& config) {
  const auto& fw = config.firewall;
  Ruleset rs;
  std::vector<Prefix> resolvers;
  resolvers.reserve(fw.resolvers.size());
  for (const auto& ip : fw.resolvers) resolvers.emplace_back(ip, ip.is_v4() ? 32 : 128);
  add_sets(rs, "resolvers", resolvers);
  Chain c{"output", Hook::Output, ChainKind::Filter, {}};
  c.rules.push_back({.name = "loopback", .oifname = "lo", .counter = false});
  for (const Family f : kFamilies)
    for (const Proto p : kProtos)
      c.rules.push_back({.name = std::string("tunnel-") + suffix(f) + "-" + proto_name(p),
                         .oifname = fw.tunnel,
                         .daddr_set = std::string("resolvers_") + suffix(f),
                         .proto = p,
                         .dports = {53, 853}});
  for (const Proto p : kProtos)
    c.rules.push_back(
        {.name = std::string("leak-") + proto_name(p), .proto = p, .dports = {53, 853}, .verdict = Verdict::Reject});
  rs.chains.push_back(std::move(c));
  return rs;
}

}  // namespace

const AddressSet* Ruleset::find_set(const std::string& name) const {
  for (const auto& s : sets)
    if (s.name == name) return &s;
  return nullptr;
}

Family family_of(const Prefix& p) {
  return p.network().is_v4() ? Family::V4 : Family::V6;
}

bool is_host(const Prefix& p) {
  return p.length() == (p.network().is_v4() ? 32U : 128U);
}

std::string allowlist_set(const Prefix& p) {
  return std::string(is_host(p) ? "allow_" : "allow_net_") + (p.network().is_v4() ? "v4" : "v6");
}

Ruleset build_ruleset(const common::Config& config) {
  check_interfaces(config);
  return config.firewall.profile == common::FirewallProfile::Client ? build_client(config) : build_server(config);
}

void check_names(const Ruleset& rs) {
  auto identifier = [](const std::string& what, const std::string& s) {
    const bool ok = !s.empty() && std::ranges::all_of(s, [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!ok) throw std::invalid_argument("firewall: refusing to render " + what + " '" + s + "'");
  };
  auto interface = [](const std::string& s) {
    if (auto why = common::interface_name_problem(s); !why.empty())
      throw std::invalid_argument("firewall: refusing to render: " + why);
  };
  for (const auto& set : rs.sets) identifier("set name", set.name);
  for (const auto& c : rs.chains) {
    identifier("chain name", c.name);
    for (const auto& r : c.rules) {
      identifier("rule name", r.name);
      for (const auto* ref : {&r.saddr_set, &r.daddr_set, &r.goto_chain})
        if (!ref->empty()) identifier("reference", *ref);
      for (const auto& i : r.iifnames) interface(i);
      if (!r.oifname.empty()) interface(r.oifname);
    }
  }
}

std::vector<Prefix> load_address_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open");
  std::vector<Prefix> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    auto p = Prefix::parse(std::string_view(line).substr(b, e - b + 1));
    if (!p) throw ConfigError(path + ":" + std::to_string(n) + ": " + p.error());
    out.push_back(*p);
  }
  return out;
}

}  // namespace dnsfence::firewall
