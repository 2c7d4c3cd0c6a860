#include "firewall/iptables_render.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdio>
#include <map>

#include "firewall/nft_render.hpp"

namespace dnsfence::firewall {
namespace {

const char* table_of(ChainKind k) {
  return k == ChainKind::Nat ? "nat" : k == ChainKind::Mangle ? "mangle" : "filter";
}

const char* builtin_of(Hook h) {
  return h == Hook::Prerouting ? "PREROUTING" : h == Hook::Forward ? "FORWARD" : "OUTPUT";
}

std::string target(const Rule& r, Family family) {
  switch (r.verdict) {
    case Verdict::Return:
      return "-j RETURN";
    case Verdict::Drop:
      return "-j DROP";
    case Verdict::Reject:
      if (r.proto == Proto::Tcp) return "-j REJECT --reject-with tcp-reset";
      return family == Family::V4 ? "-j REJECT --reject-with icmp-port-unreachable"
                                  : "-j REJECT --reject-with icmp6-port-unreachable";
    case Verdict::Dnat:
      return "-j DNAT --to-destination " + r.target->to_string();
    case Verdict::Redirect:
      return "-j REDIRECT --to-ports " + std::to_string(r.target_port);
    case Verdict::Tproxy: {
      char mark[32];
      std::snprintf(mark, sizeof mark, "0x%x/0xffffffff", r.mark);
      return "-j TPROXY --on-port " + std::to_string(r.target_port) + " --on-ip " + r.target->ip().to_string() +
             " --tproxy-mark " + mark;
    }
    case Verdict::Goto:
      return "-g " + iptables_chain(r.goto_chain);
  }
  return "";
}

// " -m set --match-set NAME DIR", "" without a set; false when the set is of the other family.
bool set_match(const Ruleset& rs, const std::string& set, const char* dir, Family family, std::string& out) {
  if (set.empty()) return true;
  const auto* s = rs.find_set(set);
  if (s == nullptr || s->family != family) return false;
  out.append(" -m set --match-set ").append(ipset_name(set)).append(" ").append(dir);
  return true;
}

std::string matches(const Rule& r) {
  std::string out;
  if (!r.oifname.empty()) out += " -o " + r.oifname;
  if (r.ct_dnat) out += " -m conntrack --ctstate DNAT";
  if (r.proto) {
    const char* p = *r.proto == Proto::Udp ? "udp" : "tcp";
    out += std::string(" -p ") + p;
    if (r.dports.size() == 1) {
      out += " --dport " + std::to_string(r.dports[0]);
    } else {
      out += " -m multiport --dports ";
      for (std::size_t i = 0; i < r.dports.size(); ++i) {
        if (i > 0) out += ',';  // appended: a literal + a temporary is g++ 12's false -Wrestrict at -O3
        out += std::to_string(r.dports[i]);
      }
    }
  }
  return out;
}

// iptables has no interface lists: one line per interface. It also allows only one `-i`, so a
// negated list of several interfaces is dropped: the guard then may run twice, which is harmless.
std::vector<std::string> interfaces(const Rule& r) {
  if (r.iifnames.empty()) return {""};
  if (r.iif_negate) return {r.iifnames.size() == 1 ? " ! -i " + r.iifnames[0] : ""};
  std::vector<std::string> out;
  out.reserve(r.iifnames.size());
  for (const auto& i : r.iifnames) out.push_back(" -i " + i);
  return out;
}

void render_rule(const Ruleset& rs, const Rule& r, Family family, const std::string& chain, std::string& out) {
  if (r.family != Family::Any && r.family != family) return;
  if (!r.target && (r.verdict == Verdict::Dnat || r.verdict == Verdict::Tproxy)) return;
  std::string sets;
  if (!set_match(rs, r.saddr_set, "src", family, sets) || !set_match(rs, r.daddr_set, "dst", family, sets)) return;
  const std::string tail = matches(r) + " -m comment --comment \"" + r.name + "\" " + target(r, family) + "\n";
  for (const auto& iif : interfaces(r)) out.append("-A ").append(chain).append(iif).append(sets).append(tail);
}

}  // namespace

std::string iptables_chain(const std::string& name) {
  std::string out = "DNSFENCE-";
  for (const char c : name) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string ipset_name(const std::string& set) {
  std::string out = "dnsfence-" + set;
  std::ranges::replace(out, '_', '-');
  return out;
}

std::string ipset_model_name(std::string_view ipset) {
  constexpr std::string_view kPrefix = "dnsfence-";
  if (!ipset.starts_with(kPrefix)) return "";
  std::string out(ipset.substr(kPrefix.size()));
  std::ranges::replace(out, '-', '_');
  return out;
}

std::string render_ipset(const AddressSet& s, const std::string& as) {
  const std::size_t n = s.elements.size();
  std::string out = "create " + as + (s.interval ? " hash:net" : " hash:ip") + " family " +
                    (s.family == Family::V4 ? "inet" : "inet6") + " hashsize " +
                    std::to_string(std::bit_ceil(std::max<std::size_t>(n / 2, 1024))) + " maxelem " +
                    std::to_string(std::max<std::size_t>(2 * n, 65536)) + "\n";
  out.reserve(out.size() + n * (as.size() + 24));
  for (const auto& p : s.elements) out.append("add ").append(as).append(" ").append(nft_element(p)).append("\n");
  return out;
}

std::string render_ipsets(const Ruleset& rs) {
  check_names(rs);
  std::string out = "# dnsfence ipset restore input\n";
  for (const auto& s : rs.sets) out += render_ipset(s, ipset_name(s.name));
  return out;
}

std::string render_iptables(const Ruleset& rs, Family family) {
  check_names(rs);
  std::map<std::string, std::vector<const Chain*>> by_table;
  for (const auto& c : rs.chains) by_table[table_of(c.kind)].push_back(&c);
  std::string out =
      std::string("# dnsfence ") + (family == Family::V4 ? "iptables" : "ip6tables") + "-restore --noflush input\n";
  for (const auto& [table, chains] : by_table) {
    out += "*" + table + "\n";
    for (const auto* c : chains)
      ((out += ':') += iptables_chain(c->name)) += " - [0:0]\n";  // appended: g++ 12, -Wrestrict
    for (const auto* c : chains)
      for (const auto& r : c->rules) render_rule(rs, r, family, iptables_chain(c->name), out);
    out += "COMMIT\n";
  }
  return out;
}

std::vector<IptablesHook> iptables_hooks(const Ruleset& rs) {
  std::vector<IptablesHook> out;
  for (const auto& c : rs.chains)
    if (c.hook != Hook::None) out.push_back({table_of(c.kind), builtin_of(c.hook), iptables_chain(c.name)});
  return out;
}

}  // namespace dnsfence::firewall
