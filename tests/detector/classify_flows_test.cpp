// The classifier on recordings of real runs (tests/e2e/leaktest_dot.sh, leaktest_guard.sh with a
// RECORD_DIR): encrypted flows on port 853 and a client-side DNAT guard.
#include <gtest/gtest.h>

#include <algorithm>

#include "detector/classify.hpp"
#include "detector/testing_facts.hpp"

namespace dnsfence::detector {
namespace {

using testing::load_facts;

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

std::vector<const Finding*> about(const Report& r, const char* address) {
  std::vector<const Finding*> v;
  for (const auto& f : r.findings) {
    if (f.resolver && *f.resolver == ip(address)) v.push_back(&f);
  }
  return v;
}

std::vector<Verdict> verdicts_for(const Report& r, const char* address) {
  std::vector<Verdict> v;
  for (const Finding* f : about(r, address)) v.push_back(f->verdict);
  std::ranges::sort(v);
  return v;
}

bool all_wire(const Finding& f, Wire w) {
  return !f.evidence.empty() && std::ranges::all_of(f.evidence, [&](const Observation& o) { return o.wire == w; });
}

// A local stub forwards over TLS to 198.51.100.85, routed via the LAN: the SYN to 853 on lan0.
TEST(ClassifyFlows, RecordedDotOutsideTheTunnelIsTypeOne) {
  const Report r = classify(load_facts("dot_recorded.json"));
  EXPECT_EQ(verdicts_for(r, "198.51.100.85"), (std::vector{Verdict::LeakType1}));
  const Finding& f = *about(r, "198.51.100.85").front();
  EXPECT_TRUE(all_wire(f, Wire::Dot));
  EXPECT_EQ(f.evidence.front().ifname, "lan0");
  EXPECT_TRUE(std::ranges::any_of(f.facts, [](const std::string& s) { return s.starts_with("flow dot "); }));
  EXPECT_NE(f.explanation.find("outside the tunnel"), std::string::npos);
  EXPECT_EQ(exit_code(r.overall), 1);
}

// The stub forwards over TLS to 203.0.113.85 through the tunnel: encrypted, but to a resolver
// that is neither the VPN's nor trusted. Declaring it trusted, or the VPN's, clears it.
TEST(ClassifyFlows, RecordedDotInsideTheTunnelToAThirdPartyIsTypeTwo) {
  Facts f = load_facts("dot_type2.json");
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "203.0.113.85"), (std::vector{Verdict::LeakType2}));
  EXPECT_TRUE(all_wire(*about(r, "203.0.113.85").front(), Wire::Dot));
  EXPECT_EQ(about(r, "203.0.113.85").front()->evidence.front().ifname, "tun0");
  f.trusted.push_back(ip("203.0.113.85"));
  EXPECT_TRUE(verdicts_for(classify(f), "203.0.113.85").empty());
  f = load_facts("dot_type2.json");
  f.vpn_resolvers.push_back(ip("203.0.113.85"));
  EXPECT_TRUE(verdicts_for(classify(f), "203.0.113.85").empty());
}

// QUIC Initial datagrams to 198.51.100.85 udp/853 via the LAN, while the system resolves through
// the VPN's resolver (probed directly with A and AAAA over UDP and TCP).
TEST(ClassifyFlows, RecordedDoqOutsideTheTunnelIsTypeOne) {
  const Facts f = load_facts("doq_type1.json");
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "198.51.100.85"), (std::vector{Verdict::LeakType1}));
  const Finding& doq = *about(r, "198.51.100.85").front();
  EXPECT_TRUE(all_wire(doq, Wire::Doq));
  EXPECT_NE(doq.explanation.find("QUIC"), std::string::npos);
  EXPECT_EQ(verdicts_for(r, "10.96.2.1"), (std::vector{Verdict::Ok}));
  // Both types were asked of the resolver, each under its own name.
  std::vector<std::uint16_t> types;
  for (const auto& p : f.probes) {
    if (p.target && p.kind == ProbeKind::DirectUdp) types.push_back(p.qtype);
  }
  std::ranges::sort(types);
  EXPECT_EQ(types, (std::vector<std::uint16_t>{1, 28}));
  // Moved into the tunnel, the same flow to a third party is Type 2.
  Facts inside = f;
  for (auto& o : inside.observations) {
    if (o.wire == Wire::Doq) o.ifname = "tun0", o.ifindex = inside.inventory.tunnel->ifindex;
  }
  EXPECT_EQ(verdicts_for(classify(inside), "198.51.100.85"), (std::vector{Verdict::LeakType2}));
}

// A DNAT in the client's output hook sends the probes addressed to the LAN resolver 10.95.1.1 to
// the VPN's resolver inside the tunnel: nothing reached 10.95.1.1, the VPN's resolver answered.
TEST(ClassifyFlows, RecordedDnatGuardIsOkWithTheRedirectedPacketsAsEvidence) {
  const Facts f = load_facts("dnat_guard.json");
  const Report r = classify(f);
  EXPECT_EQ(verdicts_for(r, "10.95.1.1"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(verdicts_for(r, "10.95.2.1"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(r.overall, Verdict::Ok);
  const Finding& g = *about(r, "10.95.1.1").front();
  EXPECT_NE(g.explanation.find("redirected on this machine"), std::string::npos);
  ASSERT_FALSE(g.evidence.empty());
  EXPECT_TRUE(std::ranges::all_of(g.evidence, [](const Observation& o) {
    return o.ifname == "tun0" && (o.is_response ? o.src : o.dst).ip() == ip("10.95.2.1");
  }));
  EXPECT_TRUE(std::ranges::any_of(g.evidence, [](const Observation& o) { return o.is_response; }));
}

// The redirect must be clean: one of the LAN resolver's names leaving on lan0, or going to a
// resolver that is not the VPN's, or no probe answered, and it is no guard.
TEST(ClassifyFlows, DnatGuardNeedsEveryNameInTheTunnelAtTheVpnAndAnAnswer) {
  const IpAddress lan = ip("10.95.1.1");
  auto redirected = [&](Facts& f) -> Observation& {
    for (auto& o : f.observations) {
      if (!o.is_response && o.dst.ip() == ip("10.95.2.1") &&
          std::ranges::any_of(f.probes, [&](const ProbeResult& p) { return p.target == lan && p.name == o.qname; }))
        return o;
    }
    throw std::runtime_error("no redirected query in the fixture");
  };
  Facts f = load_facts("dnat_guard.json");
  redirected(f).ifname = "lan0";
  redirected(f).ifindex = 99;
  EXPECT_NE(verdicts_for(classify(f), "10.95.1.1"), (std::vector{Verdict::Ok}));
  f = load_facts("dnat_guard.json");
  f.vpn_resolvers.clear();  // the destination is then just another resolver
  EXPECT_NE(verdicts_for(classify(f), "10.95.1.1"), (std::vector{Verdict::Ok}));
  f = load_facts("dnat_guard.json");
  for (auto& p : f.probes) {
    if (p.target == lan) p.answered = false, p.error = "no reply within 1000 ms";
  }
  EXPECT_EQ(verdicts_for(classify(f), "10.95.1.1"), (std::vector{Verdict::Inconclusive}));
}

}  // namespace
}  // namespace dnsfence::detector
