#include "witness/store.hpp"

#include <gtest/gtest.h>

#include "witness/fake_clock.hpp"

namespace dnsfence::witness {
namespace {

using std::chrono::seconds;

common::IpAddress ip(const char* text) {
  return common::IpAddress::parse(text).value();
}

Observation obs(const RunId& run, const char* address, dns::Transport t = dns::Transport::Udp,
                std::uint16_t qtype = dns::rrtype::A) {
  return Observation{run, ip(address), t, qtype};
}

TEST(Store, RecordsEachResolverOnceWithCountsTransportsAndTypes) {
  testing::FakeClock clock;
  Store store(StoreLimits{}, clock);
  const RunId run = store.create().value().id;
  const TimePoint t0 = clock.now();
  EXPECT_EQ(store.record(obs(run, "198.51.100.2")), RecordOutcome::Recorded);
  clock.advance(seconds(5));
  EXPECT_EQ(store.record(obs(run, "198.51.100.2", dns::Transport::Tcp, dns::rrtype::TXT)), RecordOutcome::Recorded);
  EXPECT_EQ(store.record(obs(run, "198.51.100.2", dns::Transport::Udp, dns::rrtype::TXT)), RecordOutcome::Recorded);
  EXPECT_EQ(store.record(obs(run, "2001:db8::2")), RecordOutcome::Recorded);
  const RunSnapshot snap = store.get(run).value();
  ASSERT_EQ(snap.resolvers.size(), 2U);
  const ResolverStats& r = snap.resolvers[0];
  EXPECT_EQ(r.address, ip("198.51.100.2"));
  EXPECT_EQ(r.count, 3U);
  EXPECT_EQ(r.first_seen, t0);
  EXPECT_EQ(r.last_seen, t0 + seconds(5));
  EXPECT_TRUE(r.udp);
  EXPECT_TRUE(r.tcp);
  ASSERT_EQ(r.type_count, 2);
  EXPECT_EQ(r.types[0], dns::rrtype::A);
  EXPECT_EQ(r.types[1], dns::rrtype::TXT);
  EXPECT_EQ(snap.resolvers[1].address, ip("2001:db8::2"));
}

TEST(Store, UnknownRunIsNotRecorded) {
  testing::FakeClock clock;
  Store store(StoreLimits{}, clock);
  EXPECT_EQ(store.record(obs(RunId::random(), "198.51.100.2")), RecordOutcome::UnknownRun);
  EXPECT_EQ(store.size(), 0U);
}

TEST(Store, RunsExpireAndTheirTokensStopCounting) {
  testing::FakeClock clock;
  Store store(StoreLimits{seconds(60), 10, 10}, clock);
  const RunId run = store.create().value().id;
  clock.advance(seconds(59));
  EXPECT_EQ(store.record(obs(run, "198.51.100.2")), RecordOutcome::Recorded);
  clock.advance(seconds(1));
  EXPECT_EQ(store.record(obs(run, "198.51.100.2")), RecordOutcome::UnknownRun);  // a replay after expiry
  EXPECT_FALSE(store.get(run));
  EXPECT_EQ(store.size(), 0U);
}

TEST(Store, PurgeForgetsOnlyExpiredRuns) {
  testing::FakeClock clock;
  Store store(StoreLimits{seconds(60), 10, 10}, clock);
  store.create().value();
  clock.advance(seconds(30));
  const RunId young = store.create().value().id;
  clock.advance(seconds(30));
  EXPECT_EQ(store.purge(), 1U);
  EXPECT_TRUE(store.get(young));
}

TEST(Store, CapsRunsUntilOneExpires) {
  testing::FakeClock clock;
  Store store(StoreLimits{seconds(60), 2, 10}, clock);
  ASSERT_TRUE(store.create());
  ASSERT_TRUE(store.create());
  auto third = store.create();
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), CreateError::Full);
  clock.advance(seconds(60));
  EXPECT_TRUE(store.create());
}

TEST(Store, CapsResolversPerRunAndCountsTheDropped) {
  testing::FakeClock clock;
  Store store(StoreLimits{seconds(60), 10, 2}, clock);
  const RunId run = store.create().value().id;
  EXPECT_EQ(store.record(obs(run, "10.0.0.1")), RecordOutcome::Recorded);
  EXPECT_EQ(store.record(obs(run, "10.0.0.2")), RecordOutcome::Recorded);
  EXPECT_EQ(store.record(obs(run, "10.0.0.3")), RecordOutcome::CapDropped);
  EXPECT_EQ(store.record(obs(run, "10.0.0.1")), RecordOutcome::Recorded);  // known ones still count
  const RunSnapshot snap = store.get(run).value();
  EXPECT_EQ(snap.resolvers.size(), 2U);
  EXPECT_EQ(snap.dropped, 1U);
  EXPECT_EQ(snap.resolvers[0].count, 2U);
}

TEST(Store, TypesPerResolverAreBounded) {
  testing::FakeClock clock;
  Store store(StoreLimits{}, clock);
  const RunId run = store.create().value().id;
  for (std::uint16_t t = 1; t <= 40; ++t) store.record(obs(run, "10.0.0.1", dns::Transport::Udp, t));
  const RunSnapshot snap = store.get(run).value();
  EXPECT_EQ(snap.resolvers[0].type_count, kMaxTypesPerResolver);
  EXPECT_EQ(snap.resolvers[0].count, 40U);
}

// The VPN's resolver asks for every probe name of a protected leak test (1 + 4 per resolver +
// the public ones): all of them must be recorded, or leaktest would think some never arrived.
TEST(Store, EveryProbeNumberOfARunIsRecorded) {
  testing::FakeClock clock;
  Store store(StoreLimits{}, clock);
  const RunId run = store.create().value().id;
  for (std::uint16_t p = 1; p <= 1000; ++p) {
    auto o = obs(run, "10.64.0.53");
    o.probe = p;
    store.record(o);
    store.record(o);  // a repeat (the A and the AAAA query, a retry) is one probe
  }
  const RunSnapshot snap = store.get(run).value();
  ASSERT_EQ(snap.resolvers.size(), 1U);
  const ResolverStats& r = snap.resolvers[0];
  EXPECT_EQ(r.count, 2000U);
  EXPECT_EQ(r.probes.count(), 1000U);
  EXPECT_FALSE(r.probes.test(0));
  EXPECT_TRUE(r.probes.test(1));
  EXPECT_TRUE(r.probes.test(1000));
}

}  // namespace
}  // namespace dnsfence::witness
