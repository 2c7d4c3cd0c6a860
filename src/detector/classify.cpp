#include "detector/classify.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "detector/classify_context.hpp"

namespace dnsfence::detector {
namespace {

using namespace detail;

// The names asked of X (captured queries to X) that X never answered and, with a witness, that never
// reached the authority from anyone: X received them and dropped them silently. Without a witness
// the authority cannot be asked, so only a resolver that answered nothing at all qualifies.
std::vector<std::string> stealth_names(const Context& c, const Traffic& t) {
  std::set<std::string> answered;
  for (const auto& o : t.responses) answered.insert(normalize_name(o.qname));
  for (const ProbeResult* p : t.direct) {
    if (p->answered) answered.insert(normalize_name(p->name));
  }
  std::vector<std::string> out;
  if (!c.names.has_witness()) {
    if (answered.empty()) out.assign(t.names.begin(), t.names.end());
    return out;
  }
  if (c.f.witness->incomplete) return out;  // absence from an incomplete record proves nothing
  for (const auto& n : t.names) {
    if (!answered.contains(n) && c.names.asked_by(n).empty()) out.push_back(n);
  }
  return out;
}

std::string addresses_text(const std::vector<IpAddress>& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : ", ") + a.to_string();
  return s.empty() ? "none" : s;
}

// The authority-side facts of a finding: the VPN's egress and who asked for X's names.
void add_authority_facts(const Context& c, const std::vector<IpAddress>& from, Finding& f) {
  f.facts.push_back("the VPN's egress at the authority (asked for names sent only to the VPN's resolvers): " +
                    addresses_text(c.names.vpn_egress()));
  f.facts.push_back("the authority saw the names asked only of " + f.resolver->to_string() +
                    " from: " + addresses_text(from));
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

// A --public resolver, never configured here: did the VPN let leaktest's query to it through?
void classify_public(const Context& c, const Traffic& t, std::vector<Finding>& out) {
  const std::string x = t.address.to_string();
  if (!t.answered()) {
    out.push_back(finding(Verdict::Ok, c, t,
                          "Queries addressed to the third-party resolver " + x +
                              " went into the tunnel and were never answered: the VPN blocks them."));
    return;
  }
  if (!c.names.has_witness()) {
    out.push_back(finding(Verdict::Inconclusive, c, t,
                          "The third-party resolver " + x + " answered through the tunnel; " +
                              (c.witness_failed ? "the witness could not be used" : "without --witness") +
                              ", it cannot be told whether the VPN intercepted the query."));
    return;
  }
  std::vector<IpAddress> from;
  const Answerer by = c.names.answerer(t.address, &from);
  Finding f;
  if (by == Answerer::Vpn) {
    f = finding(Verdict::Intercepted, c, t,
                "Queries addressed to " + x +
                    " were answered, but the authority saw them only from the VPN's own resolver: the VPN "
                    "intercepts DNS on its server, its protection works.");
  } else if (by == Answerer::Elsewhere) {
    f = finding(Verdict::Unprotected, c, t,
                "Queries addressed to the third-party resolver " + x +
                    " went through the tunnel and were resolved by it, not by the VPN: the VPN lets DNS to "
                    "any resolver through. This system does not use " +
                    x +
                    " now, but whenever a network or an application points it at another resolver (DHCP, "
                    "a router advertisement, a captive portal), that resolver will see every name you look up.");
  } else {
    f = finding(Verdict::Inconclusive, c, t,
                "Queries addressed to " + x + " were answered through the tunnel, but " +
                    (by == Answerer::Unknown ? std::string("the VPN's egress at the authority is unknown (no VPN "
                                                           "resolver answered a probe; give --vpn-resolver)")
                                             : std::string("the authority never saw them")) +
                    ": it cannot be told whether the VPN intercepted them.");
  }
  add_authority_facts(c, from, f);
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
  // no packet to it on any interface: nothing left, nothing leaked. A TCP probe whose connection was
  // never established sent no name at all (a guard's reject of a SYN costs an ICMP error, which the
  // kernel rate-limits, so such a connect often just times out); at least one probe must show the
  // local refusal itself.
  auto local_refusal = [](const ProbeResult* p) {
    return is_refusal(p->error) || p->error.find("Operation not permitted") != std::string::npos;
  };
  auto never_connected = [](const ProbeResult* p) {
    return p->kind == ProbeKind::DirectTcp && p->error.starts_with("TCP connect timeout");
  };
  const bool refused_here =
      !t.direct.empty() && !t.answered() && std::ranges::any_of(t.direct, local_refusal) &&
      std::ranges::all_of(t.direct, [&](const ProbeResult* p) { return local_refusal(p) || never_connected(p); });
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

// Queries to X, a third party, went inside the tunnel: did X read them (Type 2), or did the VPN
// answer them in its place (intercepted)? Only the authority can tell: the client sees answers from
// X's address either way (conntrack rewrites the reply's source).
void classify_inside(const Context& c, const Traffic& t, std::vector<Finding>& out) {
  const std::string x = t.address.to_string();
  if (c.witness_failed) {
    out.push_back(finding(Verdict::Inconclusive, c, t,
                          "Queries to " + x + " went into the tunnel; whether " + x +
                              " read them or the VPN answered them in its place needs the witness's record, "
                              "which could not be read."));
    return;
  }
  std::vector<IpAddress> from;
  Answerer by = c.names.has_witness() ? c.names.answerer(t.address, &from) : Answerer::Elsewhere;
  // Only an answered resolver, reached only inside the tunnel, can have been answered by the VPN.
  if (!t.answered() || !t.queries_outside.empty()) by = Answerer::Elsewhere;
  Finding f;
  if (by == Answerer::Vpn) {
    f = finding(Verdict::Intercepted, c, t,
                "Queries to " + x +
                    " went into the tunnel and were answered, but the authority saw them only from the VPN's "
                    "own resolver: the VPN intercepts DNS on its server, " +
                    x + " never saw them.");
  } else if (by == Answerer::Unknown) {
    f = finding(Verdict::Inconclusive, c, t,
                "Queries to " + x + " went into the tunnel and were answered, and the authority saw them from " +
                    addresses_text(from) + ", not from " + x + ": that is the VPN's resolver (intercepted) or one " +
                    x +
                    " forwards to (a Type 2 leak); no VPN resolver answered a probe, so its egress is unknown "
                    "(give --vpn-resolver).");
  } else {
    f = finding(Verdict::LeakType2, c, t,
                "DNS queries to " + x + " travelled inside the tunnel, but " + x +
                    " is neither the VPN's resolver nor one you chose (--trusted): it sees every name you look up.");
  }
  if (c.names.has_witness()) add_authority_facts(c, from, f);
  out.push_back(std::move(f));
}

// X received probe names that it never answered and that never reached the authority: it logs and
// drops, the paper's Stealth server. Per name, so a resolver that forwards for its customers but
// drops the tunnel's queries is caught even though its address reaches the authority.
void classify_stealth(const Context& c, const Traffic& t, std::vector<Finding>& out) {
  if (c.witness_failed) return;  // classify_inside already says what is missing
  const auto names = stealth_names(c, t);
  if (names.empty()) return;
  const std::string x = t.address.to_string();
  Finding f =
      finding(Verdict::Stealth, c, t,
              "Resolver " + x + " received " + std::to_string(names.size()) + " probe name(s) it never answered" +
                  (c.names.has_witness() ? " and that never reached the authority from anyone" : "") +
                  ": a Stealth DNS server. It may log every query, yet a classic leak test only shows the "
                  "fallback resolver.");
  std::erase_if(f.evidence,
                [&](const Observation& o) { return std::ranges::find(names, normalize_name(o.qname)) == names.end(); });
  f.probes = names;
  out.push_back(std::move(f));
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
  if (refused && t.queries_outside.empty() && !vpn) {
    // A resolver the user chose (--trusted) can be blocked too: no one read the queries either.
    out.push_back(finding(Verdict::Ok, c, t,
                          "Queries to " + x +
                              " went into the tunnel and were refused (ICMP unreachable or TCP reset): the VPN "
                              "blocks DNS to it, no resolver read them." +
                              (trusted ? " It is a resolver you chose: your lookups go to the next one." : "")));
    return;
  }
  if (!t.queries_outside.empty()) {
    out.push_back(finding(Verdict::LeakType1, c, t,
                          "DNS queries to " + x + " left on " + t.queries_outside.front().ifname +
                              ", outside the tunnel, from your real address: " + x +
                              " and everyone on the way see what you look up and who you are."));
  }
  const bool inside = !t.queries_inside.empty();
  if (inside && !vpn && !trusted) classify_inside(c, t, out);
  if (!vpn && !trusted && !third_party) classify_stealth(c, t, out);
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

}  // namespace

std::string normalize_name(std::string_view name) {
  std::string s(name);
  if (!s.empty() && s.back() == '.') s.pop_back();
  std::ranges::transform(s, s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

Report classify(const Facts& facts) {
  using namespace detail;
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
