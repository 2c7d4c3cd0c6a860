#include "firewall/nft_render.hpp"

#include <cstdio>

namespace dnsfence::firewall {
namespace {

const char* ip_keyword(Family f) {
  return f == Family::V6 ? "ip6" : "ip";
}

std::string quoted_list(const std::vector<std::string>& names) {
  if (names.size() == 1) return "\"" + names[0] + "\"";
  std::string out = "{ ";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", \"" : "\"") + names[i] + "\"";
  return out + " }";
}

std::string ports(const std::vector<std::uint16_t>& p) {
  if (p.size() == 1) return std::to_string(p[0]);
  std::string out = "{ ";
  for (std::size_t i = 0; i < p.size(); ++i) out += (i ? ", " : "") + std::to_string(p[i]);
  return out + " }";
}

Family set_family(const Ruleset& rs, const std::string& name) {
  const auto* s = rs.find_set(name);
  return s ? s->family : Family::V4;
}

std::string verdict(const Rule& r) {
  const char* fam = ip_keyword(r.family);
  switch (r.verdict) {
    case Verdict::Return:
      return "return";
    case Verdict::Drop:
      return "drop";
    case Verdict::Reject:
      return r.proto == Proto::Tcp ? "reject with tcp reset" : "reject with icmpx type port-unreachable";
    case Verdict::Dnat:
      return std::string("dnat ") + fam + " to " + r.target->to_string();
    case Verdict::Redirect:
      return "redirect to :" + std::to_string(r.target_port);
    case Verdict::Tproxy: {
      char mark[16];
      std::snprintf(mark, sizeof mark, "0x%08x", r.mark);
      const bool any = r.target->ip() == common::IpAddress() || r.target->ip().to_string() == "::";
      // Appended, not `":" + std::to_string(...)`: g++ 12 at -O3 reports a false -Wrestrict (GCC bug
      // 105329) when a literal is prepended to a temporary string.
      std::string to = any ? ":" : r.target->to_string();
      if (any) to += std::to_string(r.target_port);
      return std::string("tproxy ") + fam + " to " + to + " meta mark set " + mark + " accept";
    }
    case Verdict::Goto:
      return "goto " + r.goto_chain;
  }
  return "";
}

std::string rule_text(const Ruleset& rs, const Rule& r) {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
  const bool addr_match = !r.saddr_set.empty() || !r.daddr_set.empty();
  if (r.family != Family::Any && !addr_match)
    add(std::string("meta nfproto ") + (r.family == Family::V4 ? "ipv4" : "ipv6"));
  if (!r.iifnames.empty()) add(std::string("iifname ") + (r.iif_negate ? "!= " : "") + quoted_list(r.iifnames));
  if (!r.oifname.empty()) add("oifname " + quoted_list({r.oifname}));
  if (!r.saddr_set.empty()) add(std::string(ip_keyword(set_family(rs, r.saddr_set))) + " saddr @" + r.saddr_set);
  if (!r.daddr_set.empty()) add(std::string(ip_keyword(set_family(rs, r.daddr_set))) + " daddr @" + r.daddr_set);
  if (r.ct_dnat) add("ct status dnat");
  if (r.proto) add(std::string(*r.proto == Proto::Udp ? "udp" : "tcp") + " dport " + ports(r.dports));
  if (r.counter) add("counter");
  add(verdict(r));
  add("comment \"" + r.name + "\"");
  return out;
}

std::string chain_header(const Chain& c) {
  if (c.hook == Hook::None) return "";
  const char* hook = c.hook == Hook::Prerouting ? "prerouting" : c.hook == Hook::Forward ? "forward" : "output";
  const char* type = c.kind == ChainKind::Nat ? "nat" : "filter";
  const char* prio = c.kind == ChainKind::Nat ? "dstnat" : c.kind == ChainKind::Mangle ? "mangle" : "filter";
  return std::string("\t\ttype ") + type + " hook " + hook + " priority " + prio + "; policy accept;\n";
}

std::string set_text(const AddressSet& s) {
  std::string out = "\tset " + s.name + " {\n\t\ttype " + (s.family == Family::V4 ? "ipv4_addr" : "ipv6_addr") + "\n" +
                    (s.interval ? "\t\tflags interval\n" : "");
  if (!s.elements.empty()) {
    out += "\t\telements = { ";
    for (std::size_t i = 0; i < s.elements.size(); ++i) out += (i ? ", " : "") + nft_element(s.elements[i]);
    out += " }\n";
  }
  return out + "\t}\n";
}

}  // namespace

std::string nft_element(const common::Prefix& p) {
  return is_host(p) ? p.network().to_string() : p.to_string();
}

std::string render_nft_table(const Ruleset& rs) {
  check_names(rs);
  std::string out = std::string("table inet ") + kTableName + " {\n";
  for (const auto& s : rs.sets) out += set_text(s) + "\n";
  for (std::size_t i = 0; i < rs.chains.size(); ++i) {
    const auto& c = rs.chains[i];
    out += "\tchain " + c.name + " {\n" + chain_header(c);
    for (const auto& r : c.rules) out += "\t\t" + rule_text(rs, r) + "\n";
    out += std::string("\t}\n") + (i + 1 < rs.chains.size() ? "\n" : "");
  }
  return out + "}\n";
}

std::string render_nft_apply(const Ruleset& rs) {
  return std::string("add table inet ") + kTableName + "\ndelete table inet " + kTableName + "\n" +
         render_nft_table(rs);
}

std::string render_nft_remove() {
  return std::string("add table inet ") + kTableName + "\ndelete table inet " + kTableName + "\n";
}

}  // namespace dnsfence::firewall
