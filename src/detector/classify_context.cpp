#include "detector/classify_context.hpp"

#include <algorithm>

#include "detector/classify.hpp"

namespace dnsfence::detector::detail {
namespace {

bool plain(const Observation& o) {
  return !encrypted(o);
}

std::vector<std::string> names_of(const Traffic& t) {
  return {t.names.begin(), t.names.end()};
}

std::set<std::string> probe_names_of(const Facts& f) {
  std::set<std::string> names;
  for (const auto& p : f.probes) names.insert(normalize_name(p.name));
  return names;
}

// Every plain probe query that left this machine, and where it went.
std::vector<SentQuery> sent_queries(const Facts& f, const std::set<std::string>& names) {
  std::vector<SentQuery> sent;
  const auto& t = f.inventory.tunnel;
  for (const auto& o : f.observations) {
    const bool local = o.ifname == "lo" || is_loopback(o.src.ip()) || is_loopback(o.dst.ip());
    const std::string name = normalize_name(o.qname);
    if (o.is_response || !plain(o) || local || !names.contains(name)) continue;
    const bool inside = t && (o.ifname == t->ifname || (t->ifindex != 0 && o.ifindex == t->ifindex));
    sent.push_back(SentQuery{name, o.dst.ip(), inside});
  }
  return sent;
}

}  // namespace

bool contains(const std::vector<IpAddress>& v, const IpAddress& a) {
  return std::ranges::find(v, a) != v.end();
}

// No socket read such a query, unlike a silent drop.
bool is_refusal(const std::string& error) {
  return error.find("Connection refused") != std::string::npos || error.find("No route to host") != std::string::npos ||
         error.find("Network is unreachable") != std::string::npos;
}

bool encrypted(const Observation& o) {
  return o.wire == Wire::Dot || o.wire == Wire::Doq;
}

bool is_loopback(const IpAddress& a) {
  if (a.is_v4()) return a.bytes()[0] == 127;
  const auto& b = a.bytes();
  return std::all_of(b.begin(), b.begin() + 15, [](std::uint8_t x) { return x == 0; }) && b[15] == 1;
}

bool Context::in_tunnel(const Observation& o) const {
  const auto& t = f.inventory.tunnel;
  return t && (o.ifname == t->ifname || (t->ifindex != 0 && o.ifindex == t->ifindex));
}
bool Context::is_probe(const Observation& o) const {
  return probe_names.contains(normalize_name(o.qname));
}
bool Context::local(const Observation& o) const {
  return o.ifname == "lo" || is_loopback(o.src.ip()) || is_loopback(o.dst.ip());
}

Context make_context(const Facts& f) {
  auto names = probe_names_of(f);
  auto vpn = vpn_resolvers_of(f.inventory, f.vpn_resolvers);
  NameEvidence evidence(sent_queries(f, names), f.witness, vpn);
  return Context{f, std::move(names), std::move(vpn), std::move(evidence), !f.witness && !f.witness_error.empty()};
}

bool Traffic::answered() const {
  return !responses.empty() || std::ranges::any_of(direct, [](const ProbeResult* p) { return p->answered; });
}

std::vector<Observation> Traffic::all() const {
  std::vector<Observation> v = queries_outside;
  v.insert(v.end(), queries_inside.begin(), queries_inside.end());
  v.insert(v.end(), responses.begin(), responses.end());
  std::ranges::sort(v, {}, &Observation::time);
  return v;
}

Traffic traffic_for(const Context& c, const IpAddress& x) {
  Traffic t{x, {}, {}, {}, {}, {}};
  for (const auto& o : c.f.observations) {
    if (encrypted(o) || c.local(o) || !c.is_probe(o)) continue;
    if (!o.is_response && o.dst.ip() == x) {
      (c.in_tunnel(o) ? t.queries_inside : t.queries_outside).push_back(o);
      t.names.insert(normalize_name(o.qname));
    } else if (o.is_response && o.src.ip() == x) {
      t.responses.push_back(o);
    }
  }
  for (const auto& p : c.f.probes) {
    if (p.target && *p.target == x) t.direct.push_back(&p);
  }
  return t;
}

std::vector<IpAddress> destinations(const Context& c) {
  std::vector<IpAddress> out;
  auto add = [&](const IpAddress& a) {
    if (!is_loopback(a) && !contains(out, a)) out.push_back(a);
  };
  for (const auto& o : c.f.observations) {
    if (!o.is_response && !encrypted(o) && !c.local(o) && c.is_probe(o)) add(o.dst.ip());
  }
  for (const auto& r : c.f.inventory.resolvers) add(r.address);
  for (const auto& p : c.f.probes) {
    if (p.target) add(*p.target);
  }
  return out;
}

std::string route_text(const Context& c, const IpAddress& x) {
  for (const auto& r : c.f.routes) {
    if (r.destination != x) continue;
    if (!r.error.empty()) return "route lookup for " + x.to_string() + " failed: " + r.error;
    return "kernel route to " + x.to_string() + ": dev " + r.ifname + (r.source ? " src " + r.source->to_string() : "");
  }
  return "no route lookup for " + x.to_string();
}

Finding finding(Verdict v, const Context& c, const Traffic& t, std::string why) {
  Finding f{v, t.address, std::move(why), t.all(), names_of(t), {route_text(c, t.address)}};
  for (const ProbeResult* p : t.direct) {
    std::string type;  // appended: " " + a temporary is g++ 12's false -Wrestrict at -O3 (GCC bug 105329)
    if (p->qtype != 0) (type += ' ') += qtype_name(p->qtype);
    f.facts.push_back(std::string(probe_kind_name(p->kind)) + type + " probe " + p->name + ": " +
                      (p->answered ? "answered, rcode " + std::to_string(p->rcode) : "no answer (" + p->error + ")"));
  }
  return f;
}

}  // namespace dnsfence::detector::detail
