// The upstream pool's rotation, and the Prometheus rendering of worker counters.

#include "proxy/upstreams.hpp"

#include <gtest/gtest.h>

#include <set>

#include "proxy/stats.hpp"

namespace dnsfence::proxy {
namespace {

std::vector<common::SocketAddress> three() {
  std::vector<common::SocketAddress> v;
  for (const char* a : {"10.64.0.1:53", "10.64.0.2:53", "[fd00::3]:53"}) v.push_back(*common::SocketAddress::parse(a));
  return v;
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
  EXPECT_FALSE(UpstreamPool({}).pick(0).has_value());
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
  const std::string text = render_prometheus({&a, &b}, *rules, {"10.64.0.1:53"});
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

}  // namespace
}  // namespace dnsfence::proxy
