#include "detector/classify.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "detector/facts_json.hpp"
#include "detector/testing_facts.hpp"
#include "detector/witness_client.hpp"

namespace dnsfence::detector {
namespace {

using testing::load_facts;

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

std::vector<Verdict> verdicts_for(const Report& r, const char* address) {
  std::vector<Verdict> v;
  for (const auto& f : r.findings) {
    if (f.resolver && *f.resolver == ip(address)) v.push_back(f.verdict);
  }
  std::ranges::sort(v);
  return v;
}

const Finding* find(const Report& r, Verdict v) {
  auto it = std::ranges::find(r.findings, v, &Finding::verdict);
  return it == r.findings.end() ? nullptr : &*it;
}

// The paper's hardest case: the DHCP-pushed ISP resolver receives the probe through the tunnel,
// never answers, glibc falls back, and the authority sees only the VPN's resolver.
TEST(Classify, StealthServerBehindTheTunnelIsTypeTwoAndStealth) {
  const Report r = classify(load_facts("stealth.json"));
  EXPECT_EQ(verdicts_for(r, "198.51.100.53"), (std::vector{Verdict::LeakType2, Verdict::Stealth}));
  EXPECT_EQ(verdicts_for(r, "10.64.0.1"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(r.overall, Verdict::Stealth);
  EXPECT_EQ(exit_code(r.overall), 1);
  const Finding* stealth = find(r, Verdict::Stealth);
  ASSERT_NE(stealth, nullptr);
  // The evidence is the name it dropped and nobody else asked the authority for: the direct probe.
  // The system probe's name reached the authority through the fallback resolver.
  EXPECT_EQ(stealth->evidence.size(), 1U);
  EXPECT_TRUE(
      std::ranges::all_of(stealth->evidence, [](const Observation& o) { return o.ifname == "wg0" && !o.is_response; }));
  EXPECT_EQ(stealth->probes, (std::vector<std::string>{"u1.leak.example"}));
}

TEST(Classify, StealthNeedsNoWitnessButTheWitnessCanClearIt) {
  Facts f = load_facts("stealth.json");
  f.witness.reset();
  EXPECT_EQ(verdicts_for(classify(f), "198.51.100.53"), (std::vector{Verdict::LeakType2, Verdict::Stealth}));
  // The authority saw the name only 198.51.100.53 was asked: it forwarded, it is no Stealth server.
  f = load_facts("stealth.json");
  f.witness->resolvers.push_back(WitnessResolver{ip("198.51.100.200"), {"u1.leak.example"}});
  EXPECT_EQ(verdicts_for(classify(f), "198.51.100.53"), (std::vector{Verdict::LeakType2}));
}

// The VPN server rejects DNS to third parties (block mode): probes are refused at once (or time out
// when the server rate-limits its ICMP). Nothing read the queries: no Type 2 leak and no Stealth
// server (which drops silently), but blocked.
TEST(Classify, RefusedInsideTheTunnelIsBlockedNotTypeTwoOrStealth) {
  Facts f = load_facts("stealth.json");
  auto direct_to = [&](const char* a) {
    std::vector<ProbeResult*> v;
    for (auto& p : f.probes) {
      if (p.target && *p.target == ip(a)) v.push_back(&p);
    }
    return v;
  };
  ASSERT_EQ(direct_to("198.51.100.53").size(), 1U);
  direct_to("198.51.100.53")[0]->error = "recv: Connection refused";
  EXPECT_EQ(verdicts_for(classify(f), "198.51.100.53"), (std::vector{Verdict::Ok}));
  // A second probe that timed out (rate-limited ICMP) does not change it.
  ProbeResult tcp = *direct_to("198.51.100.53")[0];
  tcp.kind = ProbeKind::DirectTcp;
  tcp.error = "TCP connect timeout after 1500 ms";
  f.probes.push_back(tcp);
  EXPECT_EQ(verdicts_for(classify(f), "198.51.100.53"), (std::vector{Verdict::Ok}));
  // Only silence, no refusal: a silent drop again, Type 2 and Stealth.
  for (ProbeResult* p : direct_to("198.51.100.53")) p->error = "no reply within 1500 ms";
  EXPECT_EQ(verdicts_for(classify(f), "198.51.100.53"), (std::vector{Verdict::LeakType2, Verdict::Stealth}));
}

// A client-side guard (dnsfence firewall's client profile) rejects DNS to the LAN resolver in the
// output hook: the probes fail at once (EPERM for UDP, a local RST for TCP) and no packet to it is
// captured anywhere. Nothing left the machine: OK, not "configured but not tested".
TEST(Classify, RefusedOnThisMachineIsOkNotUntested) {
  Facts f = load_facts("stealth.json");
  const IpAddress x = ip("198.51.100.53");
  std::erase_if(f.observations, [&](const Observation& o) { return o.dst.ip() == x || o.src.ip() == x; });
  ProbeResult* udp = nullptr;
  for (auto& p : f.probes) {
    if (p.target && *p.target == x) udp = &p;
  }
  ASSERT_NE(udp, nullptr);
  udp->error = "send: Operation not permitted";
  ProbeResult tcp = *udp;
  tcp.kind = ProbeKind::DirectTcp;
  tcp.error = "send: Connection refused";
  f.probes.push_back(tcp);
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "198.51.100.53"), (std::vector{Verdict::Ok}));
  EXPECT_TRUE(std::ranges::any_of(r.findings, [&](const Finding& g) {
    return g.resolver == x && g.explanation.find("refused on this machine") != std::string::npos;
  }));
  // One probe that merely timed out: the resolver was not really tested.
  f.probes.back().error = "no reply within 1500 ms";
  EXPECT_EQ(verdicts_for(classify(f), "198.51.100.53"), (std::vector{Verdict::Inconclusive}));
}

// Recorded by the lab's matrix (case shop4+vpn4/none/guard): the client guard rejects the UDP probes
// (EPERM) and the TCP SYNs, whose ICMP errors the kernel rate-limits, so the TCP connects time out.
// No connection was made, so no name left: refused on this machine, not "not tested".
TEST(Classify, GuardWhoseTcpConnectsTimeOutIsStillRefusedHere) {
  const Report r = classify(load_facts("guard_tcp_timeout.json"));
  EXPECT_EQ(verdicts_for(r, "203.0.113.53"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(verdicts_for(r, "198.51.100.66"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(verdicts_for(r, "10.8.0.1"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(r.overall, Verdict::Ok);
  // Only timeouts, no refusal seen on the machine: nothing shows a local rule, not tested.
  Facts f = load_facts("guard_tcp_timeout.json");
  for (auto& p : f.probes) {
    if (p.target && *p.target == ip("203.0.113.53") && p.kind == ProbeKind::DirectUdp)
      p.error = "no reply within 1000 ms";
  }
  EXPECT_EQ(verdicts_for(classify(f), "203.0.113.53"), (std::vector{Verdict::Inconclusive}));
}

// Recorded by the matrix (case shop4+refuser4l+public4/block): the VPN blocks DNS to the resolver the
// user chose (--trusted) as to any other: refused inside the tunnel, nobody read the queries. OK
// (blocked), not "trusted but never answered".
TEST(Classify, TrustedResolverBlockedByTheVpnIsOk) {
  const Report r = classify(load_facts("trusted_blocked.json"));
  EXPECT_EQ(verdicts_for(r, "198.51.100.53"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(verdicts_for(r, "203.0.113.53"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(verdicts_for(r, "100.64.53.54"), (std::vector{Verdict::LeakType1}));
}

TEST(Classify, TrustedResolverInsideTheTunnelIsNoLeak) {
  Facts f = load_facts("stealth.json");
  f.trusted.push_back(ip("198.51.100.53"));
  const Report r = classify(f);
  // Chosen by the user, reached inside the tunnel, but it never answered: not OK either.
  EXPECT_EQ(verdicts_for(r, "198.51.100.53"), (std::vector{Verdict::Inconclusive}));
  EXPECT_EQ(exit_code(r.overall), 2);
}

TEST(Classify, QueryOutsideTheTunnelIsTypeOne) {
  const Report r = classify(load_facts("type1.json"));
  EXPECT_EQ(verdicts_for(r, "192.168.1.1"), (std::vector{Verdict::LeakType1}));
  const Finding* t1 = find(r, Verdict::LeakType1);
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->evidence.front().ifname, "eth0");
  EXPECT_NE(t1->explanation.find("outside the tunnel"), std::string::npos);
  EXPECT_NE(t1->facts.front().find("dev eth0"), std::string::npos);
  EXPECT_EQ(verdicts_for(r, "10.64.0.1"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(exit_code(r.overall), 1);
}

TEST(Classify, DotOutsideTheTunnelIsTypeOneInsideToAThirdPartyTypeTwo) {
  Facts f = load_facts("type1.json");
  auto dot = [](const char* ifname, const char* dst) {
    return Observation{2.0,
                       0,
                       ifname,
                       *SocketAddress::parse("192.168.1.23:50000"),
                       *SocketAddress::parse(dst),
                       Wire::Dot,
                       false,
                       "",
                       0,
                       0,
                       0,
                       {}};
  };
  f.observations.push_back(dot("eth0", "198.51.100.9:853"));
  f.observations.push_back(dot("eth0", "198.51.100.9:853"));
  f.observations.push_back(dot("wg0", "198.51.100.10:853"));
  f.observations.push_back(dot("wg0", "10.64.0.1:853"));  // the VPN's own resolver: fine
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "198.51.100.9"), (std::vector{Verdict::LeakType1}));
  EXPECT_EQ(verdicts_for(r, "198.51.100.10"), (std::vector{Verdict::LeakType2}));
  EXPECT_EQ(verdicts_for(r, "10.64.0.1"), (std::vector{Verdict::Ok}));
  f.trusted.push_back(ip("198.51.100.10"));
  EXPECT_TRUE(verdicts_for(classify(f), "198.51.100.10").empty());
}

TEST(Classify, ForgedAnswerIsTampered) {
  const Report r = classify(load_facts("tampered.json"));
  EXPECT_EQ(verdicts_for(r, "100.64.0.53"), (std::vector{Verdict::LeakType2, Verdict::Tampered}));
  EXPECT_EQ(r.overall, Verdict::Tampered);
  const Finding* t = find(r, Verdict::Tampered);
  ASSERT_NE(t, nullptr);
  EXPECT_NE(std::ranges::find(t->facts, "forged answer 203.0.113.66"), t->facts.end());
}

TEST(Classify, ThirdPartyAnsweredByTheProviderIsIntercepted) {
  const Report r = classify(load_facts("intercepted.json"));
  EXPECT_EQ(verdicts_for(r, "192.0.2.1"), (std::vector{Verdict::Intercepted}));
  EXPECT_EQ(r.overall, Verdict::Intercepted);
  EXPECT_EQ(exit_code(r.overall), 0);
}

// The DHCP-pushed resolver itself (not a --public one) behind a VPN that intercepts: the client
// sees answers from its address, but the authority saw its probe names only from the address that
// also brought the VPN resolver's own probes. Intercepted, not Type 2. Without a witness, or when
// the authority saw them from elsewhere (the resolver or its forwarder), it stays Type 2.
TEST(Classify, ConfiguredResolverAnsweredByTheVpnIsInterceptedWithAWitness) {
  auto configured = [] {
    Facts f = load_facts("intercepted.json");
    f.public_resolvers.clear();
    f.inventory.resolvers.push_back(Resolver{ip("192.0.2.1"), "/etc/resolv.conf", ""});
    return f;
  };
  Facts f = configured();
  EXPECT_EQ(verdicts_for(classify(f), "192.0.2.1"), (std::vector{Verdict::Intercepted}));
  EXPECT_EQ(verdicts_for(classify(f), "10.64.0.1"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(exit_code(classify(f).overall), 0);
  f.witness.reset();
  EXPECT_EQ(verdicts_for(classify(f), "192.0.2.1"), (std::vector{Verdict::LeakType2}));
  f = configured();
  f.witness->resolvers[0].names = {"s1.leak.example"};
  f.witness->resolvers.push_back(WitnessResolver{ip("198.51.100.7"), {"p1.leak.example"}});
  EXPECT_EQ(verdicts_for(classify(f), "192.0.2.1"), (std::vector{Verdict::LeakType2}));
}

// Unprotected VPN: a --public resolver answered through the tunnel and the authority saw the probe
// from an address that is not the VPN's egress (its own, or its egress pool's). Not "OK": the VPN
// lets DNS to any resolver through, a warning with its own exit code.
TEST(Classify, ThirdPartyResolvedByItselfIsUnprotectedNotOkOrIntercepted) {
  for (const char* egress : {"192.0.2.1", "198.51.100.7"}) {
    Facts f = load_facts("intercepted.json");
    f.witness->resolvers[0].names = {"s1.leak.example"};
    f.witness->resolvers.push_back(WitnessResolver{ip(egress), {"p1.leak.example"}});
    const Report r = classify(f);
    EXPECT_EQ(verdicts_for(r, "192.0.2.1"), (std::vector{Verdict::Unprotected})) << egress;
    EXPECT_EQ(r.overall, Verdict::Unprotected);
    EXPECT_EQ(exit_code(r.overall), 4);
    const Finding* u = find(r, Verdict::Unprotected);
    ASSERT_NE(u, nullptr);
    EXPECT_NE(u->explanation.find("lets DNS to any resolver through"), std::string::npos);
  }
}

// Without a known VPN resolver there is no yardstick: an answer seen at the authority from an
// address that is not the resolver's own could be the VPN's or the resolver's upstream.
TEST(Classify, UnknownVpnEgressIsInconclusiveNotTypeTwo) {
  Facts f = load_facts("intercepted.json");
  f.public_resolvers.clear();
  f.inventory.resolvers = {Resolver{ip("192.0.2.1"), "/etc/resolv.conf", ""}};
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "192.0.2.1"), (std::vector{Verdict::Inconclusive}));
  EXPECT_NE(find(r, Verdict::Inconclusive)->explanation.find("--vpn-resolver"), std::string::npos);
  // Seen at the authority from its own address: it resolved them itself, a Type 2 leak.
  f.witness->resolvers.push_back(WitnessResolver{ip("192.0.2.1"), {"p1.leak.example"}});
  EXPECT_EQ(verdicts_for(classify(f), "192.0.2.1"), (std::vector{Verdict::LeakType2}));
}

// The witness's record could not be read after the probes: nothing that needs it is a verdict, so
// a resolver that never answered is neither Type 2 nor Stealth but INCONCLUSIVE, saying why.
TEST(Classify, UnreadableWitnessRecordNeverMakesALeak) {
  Facts f = load_facts("stealth.json");
  f.witness.reset();
  f.witness_error = "witness http://192.0.2.53:8053: GET /runs/r1: HTTP 500";
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "198.51.100.53"), (std::vector{Verdict::Inconclusive}));
  EXPECT_EQ(r.overall, Verdict::Inconclusive);
  EXPECT_TRUE(std::ranges::any_of(
      r.findings, [](const Finding& x) { return !x.resolver && x.explanation.find("HTTP 500") != std::string::npos; }));
  // A query outside the tunnel needs no authority: Type 1 stays a verdict.
  f = load_facts("type1.json");
  f.witness.reset();
  f.witness_error = "witness http://192.0.2.53:8053: GET /runs/r1: HTTP 500";
  EXPECT_EQ(verdicts_for(classify(f), "192.168.1.1"), (std::vector{Verdict::LeakType1}));
}

// A witness whose store was unreachable marks the run's record incomplete: a name missing from it
// may have reached the authority after all, so it is no evidence of a Stealth server.
TEST(Classify, AnIncompleteWitnessRecordMakesNoStealthServer) {
  Facts f = load_facts("stealth.json");
  f.witness->incomplete = true;
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "198.51.100.53"), (std::vector{Verdict::LeakType2}));
  EXPECT_EQ(r.overall, Verdict::LeakType2);
  EXPECT_TRUE(std::ranges::any_of(r.findings, [](const Finding& x) {
    return !x.resolver && x.explanation.find("may be incomplete") != std::string::npos;
  }));
  EXPECT_TRUE(parse_results(R"({"resolvers":[],"incomplete":true})", {}).incomplete);
}

TEST(Classify, ThirdPartyWithoutWitnessIsInconclusiveAndBlockedIsOk) {
  Facts f = load_facts("intercepted.json");
  f.witness.reset();
  EXPECT_EQ(verdicts_for(classify(f), "192.0.2.1"), (std::vector{Verdict::Inconclusive}));
  f = load_facts("intercepted.json");
  std::erase_if(f.observations, [](const Observation& o) { return o.is_response && o.qname == "p1.leak.example"; });
  f.probes.back().answered = false;
  EXPECT_EQ(verdicts_for(classify(f), "192.0.2.1"), (std::vector{Verdict::Ok}));
}

TEST(Classify, FailedCaptureIsNeverOk) {
  const Report r = classify(load_facts("capture_failed.json"));
  EXPECT_EQ(r.overall, Verdict::Inconclusive);
  EXPECT_EQ(exit_code(r.overall), 2);
  EXPECT_NE(r.findings.front().explanation.find("Operation not permitted"), std::string::npos);
}

TEST(Classify, MissingTunnelAndUntestedResolverAreInconclusive) {
  Facts f = load_facts("stealth.json");
  f.inventory.tunnel.reset();
  f.inventory.resolvers.push_back(Resolver{ip("198.51.100.77"), "/etc/resolv.conf", ""});
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "198.51.100.77"), (std::vector{Verdict::Inconclusive}));
  // Without a tunnel there is no inside: nothing is called a leak, nothing is called OK.
  EXPECT_EQ(verdicts_for(r, "10.64.0.1"), (std::vector{Verdict::Inconclusive}));
  EXPECT_EQ(r.overall, Verdict::Inconclusive);
  EXPECT_TRUE(std::ranges::any_of(r.findings,
                                  [](const Finding& x) { return !x.resolver && x.verdict == Verdict::Inconclusive; }));
}

TEST(Classify, LoopbackStubIsNotALeakAndNothingIsInconclusive) {
  Facts f;
  f.capture_ok = true;
  f.inventory.tunnel = Tunnel{"wg0", 5, "tun", "test", {}};
  f.inventory.resolvers.push_back(Resolver{ip("127.0.0.53"), "/etc/resolv.conf", ""});
  f.probes.push_back(ProbeResult{"s1.x", ProbeKind::System, std::nullopt, 0, true, 3, {}, "", ""});
  f.observations.push_back(Observation{0,
                                       1,
                                       "lo",
                                       *SocketAddress::parse("127.0.0.1:5000"),
                                       *SocketAddress::parse("127.0.0.53:53"),
                                       Wire::Udp,
                                       false,
                                       "s1.x",
                                       1,
                                       1,
                                       0,
                                       {}});
  const Report r = classify(f);
  EXPECT_EQ(r.overall, Verdict::Inconclusive);
  EXPECT_EQ(r.findings.size(), 1U);
}

TEST(Classify, FactsRoundTripThroughJson) {
  const Facts f = load_facts("stealth.json");
  const Facts g = facts_from_json(facts_to_json(f));
  EXPECT_EQ(facts_to_json(g), facts_to_json(f));
  EXPECT_EQ(report_to_json(classify(g))["overall"], "STEALTH");
}

TEST(Classify, NamesCompareWithoutCaseOrTrailingDot) {
  EXPECT_EQ(normalize_name("AbC.Example."), "abc.example");
}

}  // namespace
}  // namespace dnsfence::detector
