#include "detector/model.hpp"

#include <algorithm>
#include <string>

namespace dnsfence::detector {

const char* verdict_name(Verdict v) noexcept {
  switch (v) {
    case Verdict::Ok:
      return "OK";
    case Verdict::Intercepted:
      return "INTERCEPTED";
    case Verdict::Unprotected:
      return "UNPROTECTED";
    case Verdict::Inconclusive:
      return "INCONCLUSIVE";
    case Verdict::LeakType1:
      return "LEAK-TYPE1";
    case Verdict::LeakType2:
      return "LEAK-TYPE2";
    case Verdict::Stealth:
      return "STEALTH";
    case Verdict::Tampered:
      return "TAMPERED";
  }
  return "?";
}

int exit_code(Verdict overall) noexcept {
  switch (overall) {
    case Verdict::Ok:
    case Verdict::Intercepted:
      return 0;
    case Verdict::Unprotected:
      return 4;
    case Verdict::Inconclusive:
      return 2;
    case Verdict::LeakType1:
    case Verdict::LeakType2:
    case Verdict::Stealth:
    case Verdict::Tampered:
      return 1;
  }
  return 2;
}

const char* wire_name(Wire w) noexcept {
  switch (w) {
    case Wire::Udp:
      return "udp";
    case Wire::Tcp:
      return "tcp";
    case Wire::Dot:
      return "dot";
    case Wire::Doq:
      return "doq";
  }
  return "?";
}

std::string qtype_name(std::uint16_t qtype) {
  if (qtype == 0) return "";
  if (qtype == 1) return "A";
  if (qtype == 28) return "AAAA";
  return std::to_string(qtype);
}

const char* probe_kind_name(ProbeKind k) noexcept {
  switch (k) {
    case ProbeKind::System:
      return "system";
    case ProbeKind::DirectUdp:
      return "udp";
    case ProbeKind::DirectTcp:
      return "tcp";
    case ProbeKind::Public:
      return "public";
  }
  return "?";
}

std::vector<IpAddress> vpn_resolvers_of(const Inventory& inventory, const std::vector<IpAddress>& declared) {
  std::vector<IpAddress> out = declared;
  const auto& t = inventory.tunnel;
  if (!t) return out;
  for (const auto& r : inventory.resolvers) {
    const bool on_link = !r.link.empty() && r.link == t->ifname;
    const bool in_prefix = std::ranges::any_of(t->addresses, [&](const auto& p) { return p.contains(r.address); });
    if ((on_link || in_prefix) && std::ranges::find(out, r.address) == out.end()) out.push_back(r.address);
  }
  return out;
}

}  // namespace dnsfence::detector
