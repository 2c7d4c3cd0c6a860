#include <algorithm>
#include <set>
#include <sstream>

#include "detector/report.hpp"

namespace dnsfence::detector {
namespace {

std::string packet_line(const Observation& o) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(3);
  s << "    " << o.time << "s " << (o.ifname.empty() ? "?" : o.ifname) << " " << wire_name(o.wire) << " "
    << o.src.to_string() << " -> " << o.dst.to_string() << " " << (o.is_response ? "response " : "query ") << o.qname;
  if (o.is_response) {
    s << " rcode " << o.rcode;
    for (const auto& a : o.answers) s << " " << a;
  }
  return s.str();
}

std::string heading(const Finding& f) {
  return std::string("[") + verdict_name(f.verdict) + "] " + (f.resolver ? f.resolver->to_string() : "run");
}

}  // namespace

std::string report_text(const Report& r, const Facts& f) {
  std::ostringstream s;
  s << "dnsfence leaktest: " << verdict_name(r.overall) << "\n";
  if (const auto& t = f.inventory.tunnel) {
    s << "tunnel: " << t->ifname << " (" << t->kind << ", found by " << t->detected_by << ")\n";
  }
  for (const auto& res : f.inventory.resolvers) {
    s << "resolver: " << res.address.to_string() << " from " << res.origin
      << (res.link.empty() ? "" : " on " + res.link) << "\n";
  }
  s << "\n";
  for (const auto& fi : r.findings) {
    s << heading(fi) << "\n  " << fi.explanation << "\n";
    for (const auto& o : fi.evidence) s << packet_line(o) << "\n";
    for (const auto& fact : fi.facts) s << "    " << fact << "\n";
  }
  if (f.witness && !f.witness->reports.empty()) {
    // What a VPN server running `dnsfence serve` saw of this run's names: where they were sent.
    s << "\nreported by the VPN server (through the witness):\n";
    for (const auto& rep : f.witness->reports) {
      std::string transports;
      for (const auto& t : rep.transports) transports += (transports.empty() ? "" : ",") + t;
      s << "  " << rep.destination.to_string() << " (" << rep.destination_class
        << (rep.role == "vpn" ? ", the VPN's" : "") << (transports.empty() ? "" : ", " + transports)
        << "): " << rep.action << " by " << rep.reporter << ", " << rep.names.size() << " probe name(s)\n";
    }
  }
  if (!r.notes.empty() || !f.inventory.notes.empty()) s << "\nnotes:\n";
  for (const auto& n : f.inventory.notes) s << "  " << n << "\n";
  for (const auto& n : r.notes) s << "  " << n << "\n";
  return s.str();
}

std::string report_diff(const Report& before, const Report& after) {
  std::set<std::string> old_set;
  std::set<std::string> new_set;
  for (const auto& f : before.findings) old_set.insert(heading(f) + ": " + f.explanation);
  for (const auto& f : after.findings) new_set.insert(heading(f) + ": " + f.explanation);
  std::ostringstream s;
  if (before.overall != after.overall) {
    s << "overall: " << verdict_name(before.overall) << " -> " << verdict_name(after.overall) << "\n";
  }
  for (const auto& x : new_set) {
    if (!old_set.contains(x)) s << "+ " << x << "\n";
  }
  for (const auto& x : old_set) {
    if (!new_set.contains(x)) s << "- " << x << "\n";
  }
  return s.str();
}

}  // namespace dnsfence::detector
