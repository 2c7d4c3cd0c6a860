#include "firewall/iptables_render.hpp"

#include <cctype>
#include <cstdio>
#include <map>

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

// The addresses a set match expands to in `family`; {""} when the rule has no such match.
std::vector<std::string> expand(const Ruleset& rs, const std::string& set, Family family) {
  if (set.empty()) return {""};
  std::vector<std::string> out;
  if (const auto* s = rs.find_set(set); s && s->family == family)
    for (const auto& p : s->elements) out.push_back(p.to_string());
  return out;
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
      for (std::size_t i = 0; i < r.dports.size(); ++i) out += (i ? "," : "") + std::to_string(r.dports[i]);
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
  for (const auto& iif : interfaces(r))
    for (const auto& src : expand(rs, r.saddr_set, family))
      for (const auto& dst : expand(rs, r.daddr_set, family)) {
        out.append("-A ").append(chain).append(iif);
        if (!src.empty()) out.append(" -s ").append(src);
        if (!dst.empty()) out.append(" -d ").append(dst);
        out += matches(r);
        out += " -m comment --comment \"" + r.name + "\" " + target(r, family) + "\n";
      }
}

}  // namespace

std::string iptables_chain(const std::string& name) {
  std::string out = "DNSFENCE-";
  for (const char c : name) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string render_iptables(const Ruleset& rs, Family family) {
  std::map<std::string, std::vector<const Chain*>> by_table;
  for (const auto& c : rs.chains) by_table[table_of(c.kind)].push_back(&c);
  std::string out =
      std::string("# dnsfence ") + (family == Family::V4 ? "iptables" : "ip6tables") + "-restore --noflush input\n";
  for (const auto& [table, chains] : by_table) {
    out += "*" + table + "\n";
    for (const auto* c : chains) out += ":" + iptables_chain(c->name) + " - [0:0]\n";
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
