// The upstream pool's rotation, and the Prometheus rendering of worker counters.

#include "proxy/upstreams.hpp"

#include <gtest/gtest.h>

#include <set>

#include "proxy/stats.hpp"

namespace dnsfence::proxy {
namespace {

std::vector<common::SocketAddress> addresses(std::initializer_list<const char*> texts) {
  std::vector<common::SocketAddress> v;
  for (const char* a : texts) v.push_back(*common::SocketAddress::parse(a));
  return v;
}

// Out of rotation at the first miss, back at the first answer: the rotation mechanics alone.
constexpr HealthPolicy kTouchy{1, 1};

UpstreamSet three(HealthPolicy policy = kTouchy, HealthTable* shared = nullptr) {
  UpstreamTable table;
  auto set = *table.assign(addresses({"10.64.0.1:53", "10.64.0.2:53", "[fd00::3]:53"}));
  set.policy = policy;
  set.health = shared;
  return set;
}

TEST(UpstreamPool, PicksOnlyUpstreamsInRotation) {
  UpstreamPool pool(three());
  std::set<std::uint8_t> seen;
  for (std::uint64_t r = 0; r < 30; ++r) seen.insert(*pool.pick(r));
  EXPECT_EQ(seen.size(), 3U);
  pool.timed_out(1);
  for (std::uint64_t r = 0; r < 30; ++r) EXPECT_NE(*pool.pick(r), 1);
  pool.answered(1);
  seen.clear();
  for (std::uint64_t r = 0; r < 30; ++r) seen.insert(*pool.pick(r));
  EXPECT_EQ(seen.size(), 3U);
}

TEST(UpstreamPool, AllDownStillRoundRobins) {
  UpstreamPool pool(three());
  for (std::uint8_t i = 0; i < 3; ++i) pool.timed_out(i);
  std::set<std::uint8_t> seen;
  for (int i = 0; i < 3; ++i) seen.insert(*pool.pick(0));
  EXPECT_EQ(seen.size(), 3U);
  EXPECT_FALSE(UpstreamPool(UpstreamSet{}).pick(0).has_value());
}

TEST(UpstreamPool, ProbesAreScheduledAndNotDoubled) {
  UpstreamPool pool(three());
  int sent = 0;
  pool.due_probes(0, 100, [&](std::uint8_t) { return ++sent > 0; });
  EXPECT_EQ(sent, 3);
  pool.due_probes(200, 100, [&](std::uint8_t) { return ++sent > 0; });
  EXPECT_EQ(sent, 3);  // all still probing
  pool.probe_done(0);
  pool.due_probes(200, 100, [&](std::uint8_t) { return ++sent > 0; });
  EXPECT_EQ(sent, 4);
}

TEST(UpstreamTable, KeepsIndicesAcrossReloadsAndAddsNewOnes) {
  UpstreamTable table;
  const auto first = table.assign(addresses({"10.64.0.1:53", "10.64.0.2:53"}));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->entries.size(), 2U);
  EXPECT_EQ(first->entries[0].index, 0);
  EXPECT_EQ(first->entries[1].index, 1);
  // 10.64.0.1 removed, 10.64.0.3 new, 10.64.0.2 kept and moved first: it keeps index 1.
  const auto second = table.assign(addresses({"10.64.0.2:53", "10.64.0.3:53"}));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->entries[0].index, 1);
  EXPECT_EQ(second->entries[1].index, 2);
  EXPECT_EQ(second->entries[1].address.to_string(), "10.64.0.3:53");
  // A removed upstream that comes back gets its old index.
  const auto third = table.assign(addresses({"10.64.0.1:53"}));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->entries[0].index, 0);
  EXPECT_EQ(table.size(), 3U);
}

TEST(UpstreamTable, RefusesMoreDistinctUpstreamsThanItHoldsAndChangesNothing) {
  UpstreamTable table;
  std::vector<common::SocketAddress> list;
  for (std::size_t i = 0; i < common::kMaxUpstreams; ++i)
    list.push_back(*common::SocketAddress::parse("10.64.1." + std::to_string(i + 1) + ":53"));
  ASSERT_TRUE(table.assign(list));
  const auto over = table.assign(addresses({"10.64.1.1:53", "10.64.2.1:53"}));
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().find("10.64.2.1:53"), std::string::npos);
  EXPECT_NE(over.error().find("all 16 are in use"), std::string::npos);
  EXPECT_EQ(table.size(), common::kMaxUpstreams);
  const auto again = table.assign(addresses({"10.64.1.16:53"}));  // known: still fine
  ASSERT_TRUE(again);
  EXPECT_EQ(again->entries[0].index, 15);
}

// A fleet that keeps changing its resolvers: once every index has been used, a new upstream takes
// the index of the one that left longest ago, but only after the grace period (by then every query
// sent to it has met its deadline); before that the reload is refused and nothing changes.
TEST(UpstreamTable, ReusesTheIndexThatLeftLongestAgoOnlyAfterTheGrace) {
  UpstreamTable table(100);
  std::vector<common::SocketAddress> list;
  for (std::size_t i = 0; i < common::kMaxUpstreams; ++i)
    list.push_back(*common::SocketAddress::parse("10.64.1." + std::to_string(i + 1) + ":53"));
  ASSERT_TRUE(table.assign(list, 0));
  list.erase(list.begin(), list.begin() + 2);  // 10.64.1.1 and 10.64.1.2 leave at t=10
  ASSERT_TRUE(table.assign(list, 10));
  list.erase(list.begin());  // 10.64.1.3 leaves at t=20
  ASSERT_TRUE(table.assign(list, 20));
  list.push_back(*common::SocketAddress::parse("10.64.9.1:53"));
  const auto early = table.assign(list, 109);  // 10.64.1.1 left 99 ago: still held
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().find("10.64.9.1:53"), std::string::npos);
  EXPECT_NE(early.error().find("reload again later"), std::string::npos);
  const auto later = table.assign(list, 110);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->entries.back().index, 0);  // 10.64.1.1's (it and 10.64.1.2 left first; 0 found first)
  EXPECT_EQ(later->renamed, std::vector<std::uint8_t>{0});
  list.push_back(*common::SocketAddress::parse("10.64.9.2:53"));
  const auto second = table.assign(list, 115);  // 10.64.1.2's index, free since 110
  ASSERT_TRUE(second);
  EXPECT_EQ(second->renamed, std::vector<std::uint8_t>{1});
  list.push_back(*common::SocketAddress::parse("10.64.9.3:53"));
  ASSERT_FALSE(table.assign(list, 119));  // 10.64.1.3 left at 20: held until 120
  const auto third = table.assign(list, 120);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->renamed, std::vector<std::uint8_t>{2});
  EXPECT_EQ(third->entries.back().index, 2);
  EXPECT_EQ(table.size(), common::kMaxUpstreams);
}

TEST(UpstreamPool, UpdateKeepsHealthOfKeptUpstreamsAndNeverPicksRemovedOnes) {
  UpstreamTable table;
  auto first = *table.assign(addresses({"10.64.0.1:53", "10.64.0.2:53", "10.64.0.3:53"}));
  first.policy = kTouchy;
  UpstreamPool pool(first);
  pool.timed_out(1);  // 10.64.0.2 down
  int probes = 0;
  pool.due_probes(0, 1000, [&](std::uint8_t) { return ++probes > 0; });
  EXPECT_EQ(probes, 3);
  // Reload: 10.64.0.1 removed, 10.64.0.2 kept (still down), 10.64.0.4 new (index 3).
  auto second = *table.assign(addresses({"10.64.0.2:53", "10.64.0.4:53"}));
  second.policy = kTouchy;
  pool.update(second);
  ASSERT_EQ(pool.active().size(), 2U);
  EXPECT_EQ(pool.active()[0], 1);
  EXPECT_EQ(pool.active()[1], 3);
  EXPECT_FALSE(pool.up(1));
  EXPECT_TRUE(pool.up(3));
  EXPECT_TRUE(pool[1].probing);  // its health check is still in flight
  for (std::uint64_t r = 0; r < 50; ++r) EXPECT_EQ(*pool.pick(r), 3);
  // The removed upstream's late answer or timeout is harmless, and it is never probed again.
  pool.answered(0);
  pool.timed_out(0);
  pool.probe_done(0);
  std::set<std::uint8_t> probed;
  pool.due_probes(2000, 1000, [&](std::uint8_t i) { return probed.insert(i).second; });
  EXPECT_EQ(probed, (std::set<std::uint8_t>{3}));  // 1 is still probing, 0 is gone
  for (std::uint64_t r = 0; r < 50; ++r) EXPECT_NE(*pool.pick(r), 0);
  EXPECT_EQ(pool[3].address.family(), AF_INET);
}

// A lame delegation (some names time out, the rest answer) is not a dead upstream: only
// consecutive misses count, and any answer starts the count again.
TEST(UpstreamHealth, LeavesAfterConsecutiveFailuresOnly) {
  UpstreamPool pool(three(HealthPolicy{3, 1}));
  for (int i = 0; i < 100; ++i) {
    pool.timed_out(1);
    pool.timed_out(1);
    pool.answered(1);
  }
  EXPECT_TRUE(pool.up(1));
  pool.timed_out(1);
  pool.timed_out(1);
  EXPECT_TRUE(pool.up(1));
  pool.timed_out(1);
  EXPECT_FALSE(pool.up(1));
  for (std::uint64_t r = 0; r < 30; ++r) EXPECT_NE(*pool.pick(r), 1);
}

TEST(UpstreamHealth, ReturnsAfterRiseConsecutiveAnswers) {
  HealthTable shared;
  UpstreamPool pool(three(HealthPolicy{2, 3}, &shared));
  pool.timed_out(0);
  pool.timed_out(0);
  ASSERT_FALSE(pool.up(0));
  EXPECT_EQ(shared[0].downs(), 1U);
  pool.answered(0);
  pool.answered(0);
  pool.timed_out(0);  // a miss in between: the rise starts again
  pool.answered(0);
  pool.answered(0);
  EXPECT_FALSE(pool.up(0));
  pool.answered(0);
  EXPECT_TRUE(pool.up(0));
  pool.timed_out(0);  // back in rotation with no failure counted
  EXPECT_TRUE(pool.up(0));
  EXPECT_EQ(shared[0].downs(), 1U);
}

// Every worker sees one state: failures counted by different workers add up, and the `up` gauge
// is the upstream's state, not one worker's opinion.
TEST(UpstreamHealth, SharedByEveryWorker) {
  HealthTable shared;
  UpstreamPool a(three(HealthPolicy{3, 1}, &shared));
  UpstreamPool b(three(HealthPolicy{3, 1}, &shared));
  a.timed_out(2);
  b.timed_out(2);
  EXPECT_TRUE(a.up(2));
  a.timed_out(2);
  EXPECT_FALSE(a.up(2));
  EXPECT_FALSE(b.up(2));
  for (std::uint64_t r = 0; r < 30; ++r) EXPECT_NE(*b.pick(r), 2);
  b.answered(2);  // b's health check answered
  EXPECT_TRUE(a.up(2));
}

// One health check per upstream per interval for the whole process, whichever worker sends it,
// on an injected clock.
TEST(UpstreamHealth, OneWorkerProbesEachInterval) {
  HealthTable shared;
  UpstreamPool a(three(kTouchy, &shared));
  UpstreamPool b(three(kTouchy, &shared));
  int from_a = 0;
  int from_b = 0;
  a.due_probes(1000, 500, [&](std::uint8_t) { return ++from_a > 0; });
  b.due_probes(1000, 500, [&](std::uint8_t) { return ++from_b > 0; });
  EXPECT_EQ(from_a, 3);
  EXPECT_EQ(from_b, 0);
  b.due_probes(1499, 500, [&](std::uint8_t) { return ++from_b > 0; });
  EXPECT_EQ(from_b, 0);
  b.due_probes(1500, 500, [&](std::uint8_t) { return ++from_b > 0; });  // a's are still in flight
  EXPECT_EQ(from_b, 3);
  a.due_probes(1600, 500, [&](std::uint8_t) { return ++from_a > 0; });
  EXPECT_EQ(from_a, 3);
}

TEST(UpstreamHealth, ResetPutsItBackWithAProbeDueAtOnce) {
  UpstreamHealth h;
  h.failed(1);
  ASSERT_FALSE(h.up());
  EXPECT_TRUE(h.claim_probe(10, 100));
  EXPECT_FALSE(h.claim_probe(50, 100));
  h.reset();
  EXPECT_TRUE(h.up());
  EXPECT_TRUE(h.claim_probe(50, 100));
}

std::string collect(const std::vector<const Stats*>& workers, const policy::RuleSet& rules,
                    const std::vector<UpstreamLabel>& upstreams, const HealthTable& health) {
  common::Exposition out;
  collect_metrics(out, workers, rules, upstreams, health);
  return out.text();
}

TEST(Stats, RendersPrometheusTextWithoutNames) {
  auto rules = policy::RuleSet::compile(common::parse_config("[serve]\nupstreams = [\"10.64.0.1\"]\n", "t.toml"));
  Stats a;
  Stats b;
  a.count(dns::Transport::Udp, Action::Forward, policy::DestinationClass::Private);
  b.count(dns::Transport::Udp, Action::Forward, policy::DestinationClass::Private);
  b.count(dns::Transport::Tcp, Action::Local, policy::DestinationClass::Public);
  a.observe_latency(700);
  b.observe_latency(3'000'000);
  a.rule_hits[0].add(5);
  HealthTable health;
  health[0].failed(1);
  const std::string text = collect({&a, &b}, *rules, {{0, "10.64.0.1:53"}}, health);
  EXPECT_NE(text.find("dnsfence_queries_total{transport=\"udp\",action=\"forward\",destination=\"private\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("dnsfence_queries_total{transport=\"tcp\",action=\"local\",destination=\"public\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_latency_seconds_bucket{le=\"0.001\"} 1"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_latency_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_latency_seconds_sum 3.0007\n"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_up{upstream=\"10.64.0.1:53\"} 0"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_down_total{upstream=\"10.64.0.1:53\"} 1"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_rule_matches_total{rule=\"canary:doh\",suffix=\"use-application-dns.net.\","
                      "action=\"nxdomain\"} 5\n"),
            std::string::npos);
}

TEST(Stats, AReusedUpstreamIndexCountsOnlyForItsNewUpstream) {
  auto rules = policy::RuleSet::compile(common::parse_config("[serve]\nupstreams = [\"10.64.0.1\"]\n", "t.toml"));
  Stats a;
  a.upstream_sent[3].add(12);
  a.upstream_timeouts[3].add(4);
  HealthTable health;
  const std::string text = collect({&a}, *rules, {{3, "10.64.0.9:53", 10, 4, 0}}, health);
  EXPECT_NE(text.find("dnsfence_upstream_queries_total{upstream=\"10.64.0.9:53\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_timeouts_total{upstream=\"10.64.0.9:53\"} 0\n"), std::string::npos);
}

// The metric of a rule is keyed by its identity: after a reload that inserts a rule before it,
// its count stays under its own label, and the new rule starts from zero.
TEST(Stats, RuleCountsStayWithTheirRuleAcrossAReload) {
  policy::CounterSlots slots(kMaxRuleCounters);
  auto before = policy::RuleSet::compile(
      common::parse_config("[serve]\nupstreams = [\"10.64.0.1\"]\n[[serve.names]]\nname = \"old.example\"\n", "t.toml"),
      &slots);
  Stats a;
  for (const auto& r : before->name_rules())
    if (before->suffix(r) == "old.example.") a.rule_hits[r.index].add(7);
  auto after = policy::RuleSet::compile(common::parse_config("[serve]\nupstreams = [\"10.64.0.1\"]\n"
                                                             "[[serve.names]]\nname = \"new.example\"\n"
                                                             "[[serve.names]]\nname = \"old.example\"\n",
                                                             "t.toml"),
                                        &slots);
  HealthTable health;
  const std::string text = collect({&a}, *after, {}, health);
  EXPECT_NE(text.find("{rule=\"name:old.example.\",suffix=\"old.example.\",action=\"nxdomain\"} 7\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("{rule=\"name:new.example.\",suffix=\"new.example.\",action=\"nxdomain\"} 0\n"),
            std::string::npos)
      << text;
}

// Rule labels are DNS presentation text, which has its own escapes ("\." for a dot inside a
// label): written as Prometheus label values they are escaped again (only \\, \" and \n).
TEST(Stats, RuleLabelsAreEscapedForPrometheus) {
  auto rules = policy::RuleSet::compile(common::parse_config(
      "[serve]\nupstreams = [\"10.64.0.1\"]\n[[serve.names]]\nname = 'a\\.b\\\"c.example'\n", "t.toml"));
  Stats a;
  HealthTable health;
  const std::string text = collect({&a}, *rules, {}, health);
  EXPECT_NE(text.find("rule=\"name:a\\\\.b\\\\\\\"c.example.\""), std::string::npos) << text;
}

}  // namespace
}  // namespace dnsfence::proxy
