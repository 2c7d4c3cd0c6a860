// gather() + classify() on simulated networks: fake inventory, routes, prober, capture and witness
// that behave like the topologies of issue 13, so a whole run is reproduced without a network.

#include "detector/gather.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "detector/classify.hpp"

namespace dnsfence::detector {
namespace {

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

class Fixed final : public InventorySource {
 public:
  explicit Fixed(std::vector<Resolver> r) : r_(std::move(r)) {}
  [[nodiscard]] std::string name() const override { return "fixed"; }
  void collect(Inventory& out) override { out.resolvers.insert(out.resolvers.end(), r_.begin(), r_.end()); }

 private:
  std::vector<Resolver> r_;
};

class AllThroughTheTunnel final : public RouteOracle {
 public:
  RouteFact lookup(const IpAddress& d, std::uint16_t, std::uint32_t) override { return {d, "wg0", 7, {}, ""}; }
};

// How one resolver address behaves, seen from the client and from the authority.
struct Behaviour {
  bool answers = true;               // a reply comes back (from the address asked)
  std::vector<IpAddress> authority;  // who asks the authority for its names, in turn (none: nobody)
};

// The simulated network: the prober answers per Behaviour and puts the packets on the "wire" the
// capture returns; the witness hands out names and reports who asked for which.
class World final : public PacketSource, public WitnessClient {
 public:
  std::map<IpAddress, Behaviour> at;
  std::vector<IpAddress> system_path;  // the resolvers getaddrinfo tries, in order
  std::size_t names_handed_out = 64;
  std::vector<std::size_t> asked;
  ProbePlan plan;

  std::expected<void, std::string> start() override { return {}; }
  CaptureResult stop() override { return {true, "", wire_, wire_.size(), 0}; }
  WitnessRun create_run(std::size_t count) override {
    asked.push_back(count);
    WitnessRun r{"run1", {}, {"192.0.2.80"}};
    for (std::size_t i = 0; i < names_handed_out; ++i) r.probes.push_back("n" + std::to_string(i) + ".leak.test");
    return r;
  }
  WitnessResults results(const WitnessRun&) override {
    WitnessResults w{{}, {"192.0.2.80"}, false, {}};
    for (const auto& [name, who] : authority_) {
      auto it = std::ranges::find(w.resolvers, who, &WitnessResolver::address);
      if (it == w.resolvers.end()) it = w.resolvers.insert(w.resolvers.end(), WitnessResolver{who, {}});
      it->names.push_back(name);
    }
    return w;
  }

  std::vector<ProbeResult> probe(const ProbePlan& p) {
    plan = p;
    std::vector<ProbeResult> out;
    ProbeResult sys{p.system_name, ProbeKind::System, std::nullopt, 0, false, 0, {}, "no answer", ""};
    for (const auto& r : system_path) {  // glibc: the next resolver after a timeout
      if (ask(p.system_name, r, 1)) {
        sys.answered = true;
        sys.answers = {"192.0.2.80"};
        break;
      }
    }
    out.push_back(sys);
    for (const auto& d : p.direct) {
      ProbeResult r{d.name, d.kind, d.target, d.qtype, false, 0, {}, "no reply within 1000 ms", d.link};
      if (ask(d.name, d.target, d.qtype)) r = {d.name, d.kind, d.target, d.qtype, true, 0, {"192.0.2.80"}, "", d.link};
      out.push_back(r);
    }
    return out;
  }

 private:
  bool ask(const std::string& name, const IpAddress& to, std::uint16_t qtype) {
    const Behaviour b = at.contains(to) ? at.at(to) : Behaviour{false, {}};
    const auto client = *SocketAddress::parse("10.8.0.2:40000");
    const SocketAddress server(to, 53);
    const auto t = static_cast<double>(wire_.size());
    wire_.push_back({t, 7, "wg0", client, server, Wire::Udp, false, name, qtype, 1, 0, {}});
    if (!b.authority.empty()) authority_.emplace_back(name, b.authority[turn_[to]++ % b.authority.size()]);
    if (b.answers) wire_.push_back({t, 7, "wg0", server, client, Wire::Udp, true, name, qtype, 1, 0, {"192.0.2.80"}});
    return b.answers;
  }
  std::vector<Observation> wire_;
  std::vector<std::pair<std::string, IpAddress>> authority_;
  std::map<IpAddress, std::size_t> turn_;
};

struct Outcome {
  Facts facts;
  Report report;
  std::vector<Verdict> of(const char* a) const {
    std::vector<Verdict> v;
    for (const auto& f : report.findings) {
      if (f.resolver && *f.resolver == ip(a)) v.push_back(f.verdict);
    }
    std::ranges::sort(v);
    return v;
  }
};

// The operator guide's recipe: `leaktest --witness URL --vpn-resolver 10.8.0.1`; DHCP gave the
// coffee shop's resolver and the ISP's.
Outcome run(World& w, const std::vector<IpAddress>& publics = {ip("198.51.100.66")}) {
  std::vector<std::unique_ptr<InventorySource>> sources;
  sources.push_back(std::make_unique<Fixed>(std::vector<Resolver>{{ip("203.0.113.53"), "dhcp:eth0.env", "eth0"},
                                                                  {ip("100.64.53.53"), "dhcp:eth0.env", "eth0"}}));
  AllThroughTheTunnel routes;
  RunOptions opt;
  opt.tunnel = "wg0";
  opt.vpn_resolvers = {ip("10.8.0.1")};
  opt.public_resolvers = publics;
  opt.settle = std::chrono::milliseconds(0);
  Collaborators with{&sources, &routes, &w, &w, [&w](const ProbePlan& p) { return w.probe(p); }};
  Outcome r{gather(opt, with), {}};
  r.report = classify(r.facts);
  return r;
}

std::size_t probes_to(const ProbePlan& p, const char* a) {
  return static_cast<std::size_t>(std::ranges::count(p.direct, ip(a), &ProbePlan::Direct::target));
}

// Issue 13, 1: a server that redirects (or tproxies) every query to its own resolver, whose egress
// is the server's public address 192.0.2.2. The VPN's resolver is probed (8 names), so its egress
// is known, and the shop's and the ISP's names, seen only from there, were intercepted.
TEST(Gather, TheVpnResolverIsProbedSoAProtectedServerIsIntercepted) {
  World w;
  const Behaviour vpn{true, {ip("192.0.2.2")}};
  for (const char* a : {"203.0.113.53", "100.64.53.53", "10.8.0.1", "198.51.100.66"}) w.at[ip(a)] = vpn;
  w.system_path = {ip("203.0.113.53")};
  const Outcome r = run(w);
  EXPECT_EQ(probes_to(w.plan, "10.8.0.1"), 8U);
  EXPECT_EQ(probes_to(w.plan, "203.0.113.53"), 4U);
  EXPECT_EQ(w.asked, (std::vector<std::size_t>{1 + 4 * 3 + 4 + 1}));  // exactly what the run needs
  EXPECT_EQ(r.of("203.0.113.53"), (std::vector{Verdict::Intercepted}));
  EXPECT_EQ(r.of("100.64.53.53"), (std::vector{Verdict::Intercepted}));
  EXPECT_EQ(r.of("10.8.0.1"), (std::vector{Verdict::Ok}));
  EXPECT_EQ(r.of("198.51.100.66"), (std::vector{Verdict::Intercepted}));
  EXPECT_EQ(exit_code(r.report.overall), 0);
}

// Issue 13, 2: the shop forwards to the ISP, which answers only its customers (the shop is one) and
// drops the tunnel's queries. The ISP's address reaches the authority on the shop's behalf, but
// the names asked of the ISP itself never did: Stealth, per name.
TEST(Gather, StealthBehindAForwardingResolverIsFound) {
  World w;
  w.at[ip("10.8.0.1")] = {true, {ip("192.0.2.2")}};
  w.at[ip("203.0.113.53")] = {true, {ip("100.64.53.53")}};
  w.at[ip("100.64.53.53")] = {false, {}};
  w.at[ip("198.51.100.66")] = {true, {ip("198.51.100.66")}};
  w.system_path = {ip("100.64.53.53"), ip("203.0.113.53")};
  const Outcome r = run(w);
  EXPECT_EQ(r.of("100.64.53.53"), (std::vector{Verdict::LeakType2, Verdict::Stealth}));
  EXPECT_EQ(r.of("203.0.113.53"), (std::vector{Verdict::LeakType2}));
  EXPECT_EQ(r.of("10.8.0.1"), (std::vector{Verdict::Ok}));
  // The VPN lets DNS to a third party through: a warning about the VPN, never "OK".
  EXPECT_EQ(r.of("198.51.100.66"), (std::vector{Verdict::Unprotected}));
  EXPECT_EQ(r.report.overall, Verdict::Stealth);
  const auto stealth = std::ranges::find(r.report.findings, Verdict::Stealth, &Finding::verdict);
  ASSERT_NE(stealth, r.report.findings.end());
  EXPECT_EQ(stealth->probes.size(), 4U);  // the four direct names; the system name reached it via the shop
}

// An independent operator's resolver egresses from a pool: two IPv4 addresses and one IPv6, none of
// them the resolver's own. Eight names to it show the whole pool, so the intercepted queries are
// recognised whichever member asked; a name from an address outside the pool is a leak.
TEST(Gather, AnEgressPoolWithIpv6IsLearnedFromTheVpnResolversNames) {
  World w;
  const Behaviour pool{true, {ip("192.0.2.2"), ip("192.0.2.3"), ip("2001:db8:2::2")}};
  for (const char* a : {"203.0.113.53", "100.64.53.53", "10.8.0.1", "198.51.100.66"}) w.at[ip(a)] = pool;
  w.system_path = {ip("203.0.113.53")};
  Outcome r = run(w);
  EXPECT_EQ(r.of("203.0.113.53"), (std::vector{Verdict::Intercepted}));
  EXPECT_EQ(r.of("100.64.53.53"), (std::vector{Verdict::Intercepted}));
  EXPECT_EQ(r.of("198.51.100.66"), (std::vector{Verdict::Intercepted}));
  // The shop forwards one of its names to its own upstream instead: no longer intercepted.
  World leaky;
  leaky.at = w.at;
  leaky.at[ip("203.0.113.53")] = {true, {ip("192.0.2.2"), ip("198.51.100.7")}};
  leaky.system_path = {ip("10.8.0.1")};
  r = run(leaky);
  EXPECT_EQ(r.of("203.0.113.53"), (std::vector{Verdict::LeakType2}));
  EXPECT_EQ(r.of("100.64.53.53"), (std::vector{Verdict::Intercepted}));
}

// A witness that hands out fewer names than the run needs (an old one ignores "count"; the quick
// start gave 4): INCONCLUSIVE saying why, no probe sent, never a fallback to another zone.
TEST(Gather, TooFewWitnessNamesIsInconclusiveWithoutProbing) {
  World w;
  w.names_handed_out = 4;
  w.at[ip("203.0.113.53")] = {false, {}};
  const Outcome r = run(w);
  EXPECT_TRUE(r.facts.probes.empty());
  EXPECT_TRUE(w.plan.direct.empty());
  EXPECT_EQ(r.report.overall, Verdict::Inconclusive);
  EXPECT_EQ(exit_code(r.report.overall), 2);
  ASSERT_FALSE(r.report.findings.empty());
  EXPECT_NE(r.report.findings.front().explanation.find("handed out 4 and this run needs 18 probe names"),
            std::string::npos);
  EXPECT_TRUE(
      std::ranges::none_of(r.report.findings, [](const Finding& f) { return f.verdict > Verdict::Inconclusive; }));
}

class BrokenWitness final : public WitnessClient {
 public:
  WitnessRun create_run(std::size_t) override { throw std::runtime_error("witness http://x: POST /runs: HTTP 503"); }
  WitnessResults results(const WitnessRun&) override { return {}; }
};

TEST(Gather, AnUnusableWitnessIsInconclusiveWithItsReason) {
  World w;
  BrokenWitness broken;
  std::vector<std::unique_ptr<InventorySource>> sources;
  sources.push_back(std::make_unique<Fixed>(std::vector<Resolver>{{ip("203.0.113.53"), "dhcp", "eth0"}}));
  AllThroughTheTunnel routes;
  RunOptions opt;
  opt.tunnel = "wg0";
  opt.settle = std::chrono::milliseconds(0);
  Collaborators with{&sources, &routes, &w, &broken, [&w](const ProbePlan& p) { return w.probe(p); }};
  const Facts f = gather(opt, with);
  const Report r = classify(f);
  EXPECT_TRUE(f.probes.empty());
  EXPECT_EQ(r.overall, Verdict::Inconclusive);
  EXPECT_NE(r.findings.front().explanation.find("HTTP 503"), std::string::npos);
  EXPECT_NE(r.findings.front().explanation.find("no probe was sent"), std::string::npos);
}

// A link-local resolver ("fe80::1%eth0", from a router advertisement) is probed with its zone.
TEST(Gather, LinkLocalResolversAreProbedWithTheirZone) {
  World w;
  std::vector<std::unique_ptr<InventorySource>> sources;
  sources.push_back(std::make_unique<Fixed>(std::vector<Resolver>{{ip("fe80::1"), "/etc/resolv.conf", "eth0"}}));
  AllThroughTheTunnel routes;
  RunOptions opt;
  opt.tunnel = "wg0";
  opt.settle = std::chrono::milliseconds(0);
  Collaborators with{&sources, &routes, &w, nullptr, [&w](const ProbePlan& p) { return w.probe(p); }};
  const Facts f = gather(opt, with);
  ASSERT_EQ(w.plan.direct.size(), 4U);
  EXPECT_TRUE(std::ranges::all_of(w.plan.direct, [](const auto& d) { return d.link == "eth0"; }));
  ASSERT_EQ(f.routes.size(), 1U);
  EXPECT_EQ(f.routes[0].ifname, "eth0");  // its own link, not the kernel's guess
}

}  // namespace
}  // namespace dnsfence::detector
