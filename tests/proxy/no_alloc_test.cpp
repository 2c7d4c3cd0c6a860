// Proves the per-query path allocates nothing: the pipeline's decision and local answer, and the
// in-flight table's acquire/store/match/release. The global operator new counts while a flag is set.

#include <gtest/gtest.h>

#include "alloc_counter.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

#include "dns/testing_packets.hpp"
#include "proxy/inflight.hpp"
#include "proxy/pipeline.hpp"

namespace dnsfence::proxy {
namespace {

TEST(NoAllocation, PipelineAndInflightAllocateNothing) {
  auto rules = policy::RuleSet::compile(common::parse_config(
      "[serve]\nupstreams = [\"10.64.0.53\"]\n[allowlist]\naddresses = [\"198.51.100.53\"]\n", "t.toml"));
  Pipeline pipeline(rules.get());
  InflightTable table(64);
  auto canary = dns::testing::query("a.use-application-dns.net", dns::rrtype::HTTPS, 1232, true);
  auto plain = dns::testing::query("www.example", dns::rrtype::A, 1232);
  const auto dest = common::IpAddress::parse("203.0.113.9").value();
  std::array<std::uint8_t, 4096> out{};
  dnsfence::testing::alloc_counting = true;
  for (int i = 0; i < 100; ++i) {
    Reply r{out};
    auto d = pipeline.handle({canary, dns::Transport::Udp, dest}, r);
    EXPECT_EQ(d.verdict, Verdict::AnswerLocal);
    auto f = pipeline.handle({plain, dns::Transport::Udp, dest}, r);
    auto s = table.acquire(static_cast<std::uint64_t>(i) * 7919, 0, 1);
    store_question(table[*s], *f.message);
    EXPECT_TRUE(same_question(table[*s], *f.message));
    table.release(*s);
  }
  dnsfence::testing::alloc_counting = false;
  EXPECT_EQ(dnsfence::testing::allocations.load(), 0);
}

}  // namespace
}  // namespace dnsfence::proxy
