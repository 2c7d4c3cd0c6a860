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

UpstreamSet three() {
  UpstreamTable table;
  return *table.assign(addresses({"10.64.0.1:53", "10.64.0.2:53", "[fd00::3]:53"}));
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
  UpstreamPool pool(*table.assign(addresses({"10.64.0.1:53", "10.64.0.2:53", "10.64.0.3:53"})));
  pool.timed_out(1);  // 10.64.0.2 down
  int probes = 0;
  pool.due_probes(0, 1000, [&](std::uint8_t) { return ++probes > 0; });
  EXPECT_EQ(probes, 3);
  // Reload: 10.64.0.1 removed, 10.64.0.2 kept (still down), 10.64.0.4 new (index 3).
  pool.update(*table.assign(addresses({"10.64.0.2:53", "10.64.0.4:53"})));
  ASSERT_EQ(pool.active().size(), 2U);
  EXPECT_EQ(pool.active()[0], 1);
  EXPECT_EQ(pool.active()[1], 3);
  EXPECT_FALSE(pool[1].up);
  EXPECT_TRUE(pool[3].up);
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

TEST(Stats, RendersPrometheusTextWithoutNames) {
  auto rules = policy::RuleSet::compile(common::parse_config("[serve]\nupstreams = [\"10.64.0.1\"]\n", "t.toml"));
  Stats a;
  Stats b;
  a.count(dns::Transport::Udp, Action::Forward, policy::DestinationClass::Private);
  b.count(dns::Transport::Udp, Action::Forward, policy::DestinationClass::Private);
  b.count(dns::Transport::Tcp, Action::Local, policy::DestinationClass::Public);
  a.observe_latency(700);
  b.observe_latency(3'000'000);
  a.upstream_up[0].set(1);
  a.rule_hits[0].add(5);
  const std::string text = render_prometheus({&a, &b}, *rules, {{0, "10.64.0.1:53"}});
  EXPECT_NE(text.find("dnsfence_queries_total{transport=\"udp\",action=\"forward\",destination=\"private\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("dnsfence_queries_total{transport=\"tcp\",action=\"local\",destination=\"public\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_latency_seconds_bucket{le=\"0.001\"} 1"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_latency_seconds_bucket{le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_up{upstream=\"10.64.0.1:53\"} 0"), std::string::npos);  // b has it down
  EXPECT_NE(text.find("dnsfence_upstream_workers_in_rotation{upstream=\"10.64.0.1:53\"} 1"), std::string::npos);
  EXPECT_NE(text.find("rule=\"canary:doh\""), std::string::npos);
  EXPECT_NE(text.find("} 5\n"), std::string::npos);
}

TEST(Stats, AReusedUpstreamIndexCountsOnlyForItsNewUpstream) {
  auto rules = policy::RuleSet::compile(common::parse_config("[serve]\nupstreams = [\"10.64.0.1\"]\n", "t.toml"));
  Stats a;
  a.upstream_sent[3].add(12);
  a.upstream_timeouts[3].add(4);
  const std::string text = render_prometheus({&a}, *rules, {{3, "10.64.0.9:53", 10, 4}});
  EXPECT_NE(text.find("dnsfence_upstream_queries_total{upstream=\"10.64.0.9:53\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_upstream_timeouts_total{upstream=\"10.64.0.9:53\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace dnsfence::proxy
