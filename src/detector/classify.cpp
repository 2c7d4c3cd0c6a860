#include "detector/classify.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

namespace dnsfence::detector {
namespace {

bool contains(const std::vector<IpAddress>& v, const IpAddress& a) {
  return std::ranges::find(v, a) != v.end();
}

// A probe error that means the network refused the query actively (ICMP unreachable, TCP reset):
// no socket read it, unlike a silent drop.
bool is_refusal(const std::string& error) {
  return error.find("Connection refused") != std::string::npos || error.find("No route to host") != std::string::npos ||
         error.find("Network is unreachable") != std::string::npos;
}

// DoT (TCP 853) or DoQ (UDP 853): a flow whose names cannot be read.
bool encrypted(const Observation& o) {
  return o.wire == Wire::Dot || o.wire == Wire::Doq;
}

bool is_loopback(const IpAddress& a) {
  if (a.is_v4()) return a.bytes()[0] == 127;
  const auto& b = a.bytes();
  return std::all_of(b.begin(), b.begin() + 15, [](std::uint8_t x) { return x == 0; }) && b[15] == 1;
}

// What the classifier knows about the run, computed once.
struct Context {
  const Facts& f;
  std::set<std::string> probe_names;
  std::vector<IpAddress> vpn;

  [[nodiscard]] bool in_tunnel(const Observation& o) const {
    const auto& t = f.inventory.tunnel;
    return t && (o.ifname == t->ifname || (t->ifindex != 0 && o.ifindex == t->ifindex));
  }
  [[nodiscard]] bool is_probe(const Observation& o) const { return probe_names.contains(normalize_name(o.qname)); }
  [[nodiscard]] bool local(const Observation& o) const {
    return o.ifname == "lo" || is_loopback(o.src.ip()) || is_loopback(o.dst.ip());
  }
};

Context make_context(const Facts& f) {
  Context c{f, {}, f.vpn_resolvers};
  for (const auto& p : f.probes) c.probe_names.insert(normalize_name(p.name));
  if (const auto& t = f.inventory.tunnel) {
    for (const auto& r : f.inventory.resolvers) {
      const bool on_link = !r.link.empty() && r.link == t->ifname;
      const bool in_prefix = std::ranges::any_of(t->addresses, [&](const auto& p) { return p.contains(r.address); });
      if ((on_link || in_prefix) && !contains(c.vpn, r.address)) c.vpn.push_back(r.address);
    }
  }
  return c;
}

// The packets and probe results that concern one destination address.
struct Traffic {
  IpAddress address;
  std::vector<Observation> queries_inside;
  std::vector<Observation> queries_outside;
  std::vector<Observation> responses;
  std::vector<const ProbeResult*> direct;  // probes addressed to this resolver
  std::set<std::string> names;             // probe names asked of this resolver

  [[nodiscard]] bool queried() const { return !queries_inside.empty() || !queries_outside.empty(); }
  [[nodiscard]] bool answered() const {
    return !responses.empty() || std::ranges::any_of(direct, [](const ProbeResult* p) { return p->answered; });
  }
  [[nodiscard]] std::vector<Observation> all() const {
    std::vector<Observation> v = queries_outside;
    v.insert(v.end(), queries_inside.begin(), queries_inside.end());
    v.insert(v.end(), responses.begin(), responses.end());
    std::ranges::sort(v, {}, &Observation::time);
    return v;
  }
};

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

// Every address worth a verdict: probe query destinations, configured resolvers, probe targets.
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

std::vector<std::string> names_of(const Traffic& t) {
  return {t.names.begin(), t.names.end()};
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

// Did resolver X show up at the authority, by address or by a name only X was asked?
bool appeared_at_witness(const Context& c, const Traffic& t) {
  const auto& w = *c.f.witness;
  for (const auto& r : w.resolvers) {
    if (r.address == t.address) return true;
  }
  for (const auto& name : t.names) {
    const bool only_x = std::ranges::none_of(c.f.observations, [&](const Observation& o) {
      return !o.is_response && normalize_name(o.qname) == name && o.dst.ip() != t.address && !c.local(o);
    });
    if (!only_x) continue;
    for (const auto& r : w.resolvers) {
      if (std::ranges::find(r.names, name) != r.names.end()) return true;
    }
  }
  return false;
}

// With a witness: the probe names asked of X reached the authority, but only from the addresses
// that also brought the VPN resolvers' own probe names, so the VPN's resolver answered them: X's
// queries were intercepted on the VPN server (conntrack made the answers look like X's). A
// resolver that forwards elsewhere shows up from another address and stays a Type 2 leak.
bool answered_by_vpn(const Context& c, const Traffic& t) {
  if (!c.f.witness || t.names.empty()) return false;
  std::set<std::string> vpn_names;
  for (const auto& o : c.f.observations) {
    if (!o.is_response && !c.local(o) && contains(c.vpn, o.dst.ip())) vpn_names.insert(normalize_name(o.qname));
  }
  std::vector<IpAddress> vpn_egress;
  for (const auto& r : c.f.witness->resolvers) {
    for (const auto& n : r.names) {
      if (vpn_names.contains(normalize_name(n)) && !contains(vpn_egress, r.address)) vpn_egress.push_back(r.address);
    }
  }
  if (vpn_egress.empty()) return false;
  bool seen = false;
  for (const auto& r : c.f.witness->resolvers) {
    for (const auto& n : r.names) {
      if (!t.names.contains(normalize_name(n)) || vpn_names.contains(normalize_name(n))) continue;
      if (!contains(vpn_egress, r.address)) return false;
      seen = true;
    }
  }
  return seen;
}

// Answer addresses X returned that the witness never serves.
std::vector<std::string> forged_answers(const Context& c, const Traffic& t) {
  std::vector<std::string> bad;
  if (!c.f.witness || c.f.witness->served.empty()) return bad;
  auto check = [&](const std::vector<std::string>& answers) {
    for (const auto& a : answers) {
      if (std::ranges::find(c.f.witness->served, a) == c.f.witness->served.end() &&
          std::ranges::find(bad, a) == bad.end())
        bad.push_back(a);
    }
  };
  for (const auto& o : t.responses) check(o.answers);
  for (const ProbeResult* p : t.direct) check(p->answers);
  return bad;
}

void classify_public(const Context& c, const Traffic& t, std::vector<Finding>& out) {
  const std::string x = t.address.to_string();
  if (!t.answered()) {
    out.push_back(finding(Verdict::Ok, c, t,
                          "Queries addressed to the third-party resolver " + x +
                              " went into the tunnel and were never answered: the VPN blocks them."));
    return;
  }
  if (!c.f.witness) {
    out.push_back(finding(Verdict::Inconclusive, c, t,
                          "The third-party resolver " + x +
                              " answered through the tunnel; without --witness it cannot be told whether the "
                              "VPN intercepted the query."));
    return;
  }
  std::vector<std::string> seen_from;
  for (const auto& r : c.f.witness->resolvers) {
    for (const auto& n : r.names) {
      if (t.names.contains(normalize_name(n))) seen_from.push_back(r.address.to_string());
    }
  }
  const bool by_x = std::ranges::find(seen_from, x) != seen_from.end();
  if (by_x) {
    out.push_back(finding(Verdict::Ok, c, t,
                          "The third-party resolver " + x +
                              " itself resolved the probe: the VPN lets DNS to other resolvers through "
                              "(no server-side protection), though this system does not use it."));
    return;
  }
  Finding f = finding(Verdict::Intercepted, c, t,
                      "Queries addressed to " + x +
                          " were answered, but the authority saw them from another resolver: the VPN "
                          "intercepts DNS on its server, its protection works.");
  for (const auto& s : seen_from) f.facts.push_back("witness saw the probe from " + s);
  out.push_back(std::move(f));
}

// A client-side redirect (a DNAT in the output hook, or a local guard that rewrites DNS): the probe
// names addressed to X were captured only as queries to a VPN (or trusted) resolver inside the
// tunnel, and some of X's probes were answered. X itself never received a packet. Returns those
// queries and the VPN resolver's responses to them, oldest first; empty when that is not the case.
std::vector<Observation> redirected_to_vpn(const Context& c, const Traffic& t) {
  std::set<std::string> names;
  for (const ProbeResult* p : t.direct) names.insert(normalize_name(p->name));
  const bool any_answered = std::ranges::any_of(t.direct, [](const ProbeResult* p) { return p->answered; });
  std::vector<Observation> seen;
  for (const auto& o : c.f.observations) {
    if (encrypted(o) || c.local(o) || !names.contains(normalize_name(o.qname))) continue;
    const IpAddress& peer = o.is_response ? o.src.ip() : o.dst.ip();
    const bool safe = c.in_tunnel(o) && (contains(c.vpn, peer) || contains(c.f.trusted, peer));
    if (!safe) return {};  // one of X's names went elsewhere: not a clean redirect
    seen.push_back(o);
  }
  const bool queried = std::ranges::any_of(seen, [](const Observation& o) { return !o.is_response; });
  if (!any_answered || !queried) return {};
  std::ranges::sort(seen, {}, &Observation::time);
  return seen;
}

void classify_silent(const Context& c, const Traffic& t, bool known, std::vector<Finding>& out) {
  const std::string x = t.address.to_string();
  if (!c.f.capture_ok) return;  // the run-wide finding already says why nothing was seen
  if (auto redirected = redirected_to_vpn(c, t); !redirected.empty() && c.f.inventory.tunnel) {
    const std::string to = redirected.front().dst.ip().to_string();
    Finding f = finding(Verdict::Ok, c, t,
                        "Queries to " + x + " were redirected on this machine (a local firewall DNAT) to " + to +
                            ", the VPN's resolver, inside the tunnel: no packet to " + x +
                            " was seen on any interface, it cannot see your lookups.");
    for (const auto& o : redirected) {
      if (!o.is_response) f.probes.push_back(o.qname);
    }
    f.evidence = std::move(redirected);
    out.push_back(std::move(f));
    return;
  }
  // Every direct probe was refused by this machine itself (a local firewall rule such as
  // `dnsfence firewall`'s client guard: EPERM or a locally generated ICMP/RST) and the capture saw
  // no packet to it on any interface: nothing left, nothing leaked.
  const bool refused_here =
      !t.direct.empty() && !t.answered() && std::ranges::all_of(t.direct, [](const ProbeResult* p) {
        return is_refusal(p->error) || p->error.find("Operation not permitted") != std::string::npos;
      });
  if (refused_here) {
    out.push_back(finding(Verdict::Ok, c, t,
                          "Queries to " + x +
                              " were refused on this machine before they left (a local firewall rule): no "
                              "packet to it was seen on any interface, it cannot see your lookups."));
    return;
  }
  if (known) {
    out.push_back(finding(Verdict::Inconclusive, c, t,
                          "Resolver " + x + " is configured, but no probe query to it was seen: it was not tested."));
  }
}

void classify_resolver(const Context& c, const Traffic& t, std::vector<Finding>& out) {
  const std::string x = t.address.to_string();
  if (!c.f.inventory.tunnel) {  // no inside to compare with: a query on eth0 is no proven leak
    out.push_back(
        finding(Verdict::Inconclusive, c, t,
                "Queries to " + x + " were seen, but without a tunnel interface their path cannot be judged."));
    return;
  }
  const bool vpn = contains(c.vpn, t.address);
  const bool trusted = contains(c.f.trusted, t.address);
  const bool third_party = contains(c.f.public_resolvers, t.address);
  // A direct probe refused (ICMP unreachable, TCP reset), none answered, nothing outside the
  // tunnel: the VPN blocks DNS to this resolver (the paper's first remedy). No resolver read the
  // queries, so it is neither a Type 2 leak nor a Stealth server, which drops silently. (The other
  // probes may time out instead: routers rate-limit ICMP, 1/s per destination on Linux.)
  const bool refused =
      !t.answered() && std::ranges::any_of(t.direct, [](const ProbeResult* p) { return is_refusal(p->error); });
  if (refused && t.queries_outside.empty() && !vpn && !trusted) {
    out.push_back(finding(Verdict::Ok, c, t,
                          "Queries to " + x +
                              " went into the tunnel and were refused (ICMP unreachable or TCP "
                              "reset): the VPN blocks DNS to it, no resolver read them."));
    return;
  }
  if (!t.queries_outside.empty()) {
    out.push_back(finding(Verdict::LeakType1, c, t,
                          "DNS queries to " + x + " left on " + t.queries_outside.front().ifname +
                              ", outside the tunnel, from your real address: " + x +
                              " and everyone on the way see what you look up and who you are."));
  }
  const bool inside = !t.queries_inside.empty();
  if (inside && !vpn && !trusted && t.queries_outside.empty() && t.answered() && answered_by_vpn(c, t)) {
    Finding f = finding(Verdict::Intercepted, c, t,
                        "Queries to " + x +
                            " went into the tunnel and were answered, but the authority saw them only from the "
                            "VPN's own resolver: the VPN intercepts DNS on its server, " +
                            x + " never saw them.");
    for (const auto& r : c.f.witness->resolvers) f.facts.push_back("witness saw probes from " + r.address.to_string());
    out.push_back(std::move(f));
  } else if (inside && !vpn && !trusted) {
    out.push_back(finding(Verdict::LeakType2, c, t,
                          "DNS queries to " + x + " travelled inside the tunnel, but " + x +
                              " is neither the VPN's resolver nor one you chose (--trusted): it sees every name "
                              "you look up."));
  }
  if (!t.answered() && !vpn && !trusted && !third_party && (!c.f.witness || !appeared_at_witness(c, t))) {
    out.push_back(finding(Verdict::Stealth, c, t,
                          "Resolver " + x + " received probe queries and never answered" +
                              (c.f.witness ? " and never asked the authority" : "") +
                              ": a Stealth DNS server. It may log every query, yet a classic leak test "
                              "only shows the fallback resolver."));
  }
  if (auto bad = forged_answers(c, t); !bad.empty()) {
    Finding f =
        finding(Verdict::Tampered, c, t,
                "Resolver " + x + " answered probe names with data the authority never served: forged answers.");
    for (const auto& a : bad) f.facts.push_back("forged answer " + a);
    out.push_back(std::move(f));
  }
  if ((vpn || trusted) && inside && !t.answered()) {
    out.push_back(finding(Verdict::Inconclusive, c, t, "Resolver " + x + " is trusted but never answered a probe."));
  } else if ((vpn || trusted) && inside && t.queries_outside.empty() && forged_answers(c, t).empty()) {
    out.push_back(finding(Verdict::Ok, c, t,
                          "Queries to " + x + " stayed inside the tunnel and " + x + " is " +
                              (vpn ? "the VPN's resolver." : "a resolver you chose.")));
  }
}

// DNS over TLS (TCP 853) or over QUIC (UDP 853) cannot be tied to a probe name, but the flow
// itself is evidence: outside the tunnel it shows the user's real address to that resolver (Type
// 1); inside it, to a resolver that is neither the VPN's nor trusted, that resolver still reads
// every name once it decrypts them (Type 2).
void classify_encrypted(const Context& c, std::vector<Finding>& out) {
  if (!c.f.inventory.tunnel) return;
  std::vector<std::pair<IpAddress, bool>> seen;  // (resolver, inside) already reported
  for (const auto& o : c.f.observations) {
    if (!encrypted(o) || o.is_response || c.local(o)) continue;
    const IpAddress x = o.dst.ip();
    const bool inside = c.in_tunnel(o);
    if (inside && (contains(c.vpn, x) || contains(c.f.trusted, x))) continue;
    if (std::ranges::find(seen, std::pair{x, inside}) != seen.end()) continue;
    seen.emplace_back(x, inside);
    const std::string what = o.wire == Wire::Dot ? "DNS over TLS (TCP 853)" : "DNS over QUIC (UDP 853)";
    const std::string xs = x.to_string();
    std::string why = "An encrypted DNS connection, ";
    why.append(what).append(", to ").append(xs);
    if (inside) {
      why.append(" travelled inside the tunnel, but ").append(xs);
      why += " is neither the VPN's resolver nor one you chose (--trusted): it reads every name you look up.";
    } else {
      why.append(" left on ").append(o.ifname).append(", outside the tunnel: ").append(xs);
      why += " reads every name once decrypted and sees your real address.";
    }
    std::vector<Observation> evidence;
    for (const auto& e : c.f.observations) {
      if (encrypted(e) && (e.is_response ? e.src.ip() : e.dst.ip()) == x && c.in_tunnel(e) == inside)
        evidence.push_back(e);
    }
    out.push_back(
        Finding{inside ? Verdict::LeakType2 : Verdict::LeakType1,
                x,
                std::move(why),
                std::move(evidence),
                {},
                {route_text(c, x), std::string("flow ") + wire_name(o.wire) + " " + o.src.to_string() + " -> " +
                                       o.dst.to_string() + " on " + (o.ifname.empty() ? "?" : o.ifname)}});
  }
}

void run_wide(const Context& c, std::vector<Finding>& out) {
  auto add = [&](std::string why) {
    out.push_back(Finding{Verdict::Inconclusive, std::nullopt, std::move(why), {}, {}, {}});
  };
  if (!c.f.capture_ok) add("The packet capture failed (" + c.f.capture_error + "): no leak can be ruled out.");
  if (!c.f.inventory.tunnel)
    add("No tunnel interface was found (use --tunnel IF): inside and outside cannot be told apart.");
  if (!c.f.witness_error.empty()) add("The witness could not be used (" + c.f.witness_error + ").");
  for (const auto& p : c.f.probes) {
    if (p.kind == ProbeKind::System && !p.answered) {
      Finding f{Verdict::Inconclusive,
                std::nullopt,
                "The system resolver (getaddrinfo) gave no answer for the probe name (" + p.error + ").",
                {},
                {p.name},
                {}};
      out.push_back(std::move(f));
    }
  }
}

}  // namespace

std::string normalize_name(std::string_view name) {
  std::string s(name);
  if (!s.empty() && s.back() == '.') s.pop_back();
  std::ranges::transform(s, s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

Report classify(const Facts& facts) {
  const Context c = make_context(facts);
  Report r;
  run_wide(c, r.findings);
  classify_encrypted(c, r.findings);
  for (const IpAddress& x : destinations(c)) {
    const Traffic t = traffic_for(c, x);
    const bool known =
        std::ranges::any_of(facts.inventory.resolvers, [&](const Resolver& v) { return v.address == x; });
    if (!t.queried()) {
      classify_silent(c, t, known || !t.direct.empty(), r.findings);
    } else if (contains(facts.public_resolvers, x) && t.queries_outside.empty()) {
      classify_public(c, t, r.findings);
    } else {
      classify_resolver(c, t, r.findings);
    }
  }
  if (facts.witness) {
    for (const auto& w : facts.witness->resolvers) {
      r.notes.push_back("the authority saw resolver " + w.address.to_string() + " ask for " +
                        std::to_string(w.names.size()) + " probe name(s)");
    }
  }
  r.notes.insert(r.notes.end(), facts.waits.begin(), facts.waits.end());
  r.overall = r.findings.empty() ? Verdict::Inconclusive : Verdict::Ok;
  for (const auto& f : r.findings) r.overall = std::max(r.overall, f.verdict);
  if (r.findings.empty()) {
    r.findings.push_back(
        Finding{Verdict::Inconclusive, std::nullopt, "Nothing was tested: no resolver and no probe.", {}, {}, {}});
  }
  return r;
}

}  // namespace dnsfence::detector
