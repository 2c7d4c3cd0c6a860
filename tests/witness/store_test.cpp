// The memory store, and the merging every store relies on (ResolverStats).
#include "witness/memory_store.hpp"

#include <gtest/gtest.h>

#include "witness/fake_clock.hpp"
#include "witness/store_testing.hpp"

namespace dnsfence::witness {
namespace {

using std::chrono::seconds;
using testing::created;

common::IpAddress ip(const char* text) {
  return common::IpAddress::parse(text).value();
}

Observation obs(const RunSnapshot& run, const char* address, const Clock& clock, dns::Transport t = dns::Transport::Udp,
                std::uint16_t qtype = dns::rrtype::A) {
  return Observation{run.id, ip(address), t, qtype, 1, clock.now()};
}

RunSnapshot read(Store& store, const RunSnapshot& run) {
  return testing::get(store, run.key).value();
}

TEST(MemoryStore, RecordsEachResolverOnceWithCountsTransportsAndTypes) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{}, clock);
  const RunSnapshot run = created(store, clock);
  const TimePoint t0 = clock.now();
  EXPECT_EQ(store.record(obs(run, "198.51.100.2", clock)), RecordOutcome::Recorded);
  clock.advance(seconds(5));
  EXPECT_EQ(store.record(obs(run, "198.51.100.2", clock, dns::Transport::Tcp, dns::rrtype::TXT)),
            RecordOutcome::Recorded);
  EXPECT_EQ(store.record(obs(run, "198.51.100.2", clock, dns::Transport::Udp, dns::rrtype::TXT)),
            RecordOutcome::Recorded);
  EXPECT_EQ(store.record(obs(run, "2001:db8::2", clock)), RecordOutcome::Recorded);
  const RunSnapshot snap = read(store, run);
  EXPECT_EQ(snap.key, run.key);
  EXPECT_EQ(snap.probes, 4);
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

TEST(MemoryStore, UnknownRunIsNotRecorded) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{}, clock);
  const RunSnapshot never = testing::fresh_run(clock, seconds(60));
  EXPECT_EQ(store.record(obs(never, "198.51.100.2", clock)), RecordOutcome::UnknownRun);
  EXPECT_EQ(store.status().runs, 0);
}

TEST(MemoryStore, ReadingTakesTheKeyNotTheIdInProbeNames) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{}, clock);
  const RunSnapshot run = created(store, clock);
  RunKey other = RunKey::random();
  EXPECT_EQ(testing::get(store, other).error(), StoreError::NotFound);
  // A key for the same id but the wrong check (as if the 64-bit id collided) reads nothing.
  other = run.key;
  other.bytes[15] ^= 1;
  EXPECT_FALSE(testing::get(store, other));
  EXPECT_TRUE(testing::get(store, run.key));
}

TEST(MemoryStore, RunsExpireAndTheirObservationsStopCounting) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{seconds(60), 10, 10}, clock);
  const RunSnapshot run = created(store, clock, seconds(60));
  clock.advance(seconds(59));
  EXPECT_EQ(store.record(obs(run, "198.51.100.2", clock)), RecordOutcome::Recorded);
  clock.advance(seconds(1));
  EXPECT_EQ(store.record(obs(run, "198.51.100.2", clock)), RecordOutcome::UnknownRun);
  EXPECT_EQ(testing::get(store, run.key).error(), StoreError::NotFound);
  EXPECT_EQ(store.status().runs, 0);
}

TEST(MemoryStore, CapsRunsUntilOneExpires) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{seconds(60), 2, 10}, clock);
  created(store, clock, seconds(60));
  created(store, clock, seconds(60));
  auto third = testing::create(store, testing::fresh_run(clock, seconds(60)));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), StoreError::Full);
  clock.advance(seconds(60));
  EXPECT_TRUE(testing::create(store, testing::fresh_run(clock, seconds(60))));
}

TEST(MemoryStore, CapsResolversPerRunAndCountsTheDropped) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{seconds(60), 10, 2}, clock);
  const RunSnapshot run = created(store, clock, seconds(60));
  EXPECT_EQ(store.record(obs(run, "10.0.0.1", clock)), RecordOutcome::Recorded);
  EXPECT_EQ(store.record(obs(run, "10.0.0.2", clock)), RecordOutcome::Recorded);
  EXPECT_EQ(store.record(obs(run, "10.0.0.3", clock)), RecordOutcome::CapDropped);
  EXPECT_EQ(store.record(obs(run, "10.0.0.1", clock)), RecordOutcome::Recorded);  // known ones still count
  const RunSnapshot snap = read(store, run);
  EXPECT_EQ(snap.resolvers.size(), 2U);
  EXPECT_EQ(snap.dropped, 1U);
  EXPECT_EQ(snap.resolvers[0].count, 2U);
}

TEST(MemoryStore, TypesPerResolverAreBounded) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{}, clock);
  const RunSnapshot run = created(store, clock);
  for (std::uint16_t t = 1; t <= 40; ++t) store.record(obs(run, "10.0.0.1", clock, dns::Transport::Udp, t));
  const RunSnapshot snap = read(store, run);
  EXPECT_EQ(snap.resolvers[0].type_count, kMaxTypesPerResolver);
  EXPECT_EQ(snap.resolvers[0].count, 40U);
}

// The VPN's resolver asks for every probe name of a protected leak test (1 + 4 per resolver +
// the public ones): all of them must be recorded, or leaktest would think some never arrived.
TEST(MemoryStore, EveryProbeNumberOfARunIsRecorded) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{}, clock);
  const RunSnapshot run = created(store, clock, seconds(3600), 1000);
  for (std::uint16_t p = 1; p <= 1000; ++p) {
    auto o = obs(run, "10.64.0.53", clock);
    o.probe = p;
    store.record(o);
    store.record(o);  // a repeat (the A and the AAAA query, a retry) is one probe
  }
  const RunSnapshot snap = read(store, run);
  ASSERT_EQ(snap.resolvers.size(), 1U);
  const ResolverStats& r = snap.resolvers[0];
  EXPECT_EQ(r.count, 2000U);
  EXPECT_EQ(r.probes.count(), 1000U);
  EXPECT_FALSE(r.probes.test(0));
  EXPECT_TRUE(r.probes.test(1));
  EXPECT_TRUE(r.probes.test(1000));
}

// What a fleet's instances saw of one resolver merges into one view: earliest first, latest
// last, counts added, transports, types and probes united.
// Issue 16: what VPN servers reported of a run's names, per destination; none for unknown runs.
TEST(MemoryStore, KeepsReportsWithTheirRunBounded) {
  testing::FakeClock clock;
  MemoryStore s(StoreLimits{}, clock);
  const RunSnapshot run = testing::created(s, clock);
  RunSnapshot other = testing::fresh_run(clock, std::chrono::seconds(60));  // never created
  EXPECT_EQ(
      testing::add_reports(
          s, {testing::report(run, 1, "100.64.53.53"), testing::report(run, 2, "100.64.53.53", "tcp", 1767268800500),
              testing::report(run, 1, "203.0.113.53"), testing::report(other, 1, "100.64.53.53")}),
      3U);
  RunSnapshot got = testing::get(s, run.key).value();
  ASSERT_EQ(got.reports.size(), 2U);
  EXPECT_EQ(got.reports[0].destination.to_string(), "100.64.53.53");
  EXPECT_EQ(got.reports[0].count, 2U);
  EXPECT_TRUE(got.reports[0].udp && got.reports[0].tcp);
  EXPECT_TRUE(got.reports[0].probes.test(1) && got.reports[0].probes.test(2));
  EXPECT_EQ(got.reports[0].last_ms - got.reports[0].first_ms, 500);
  EXPECT_EQ(got.reports[1].destination.to_string(), "203.0.113.53");
  // Bounded: many destinations are counted beyond kMaxReportDestinations, many reports trimmed.
  std::vector<ReportObservation> many;
  for (int i = 0; i < 100; ++i) {
    const std::string a = "198.51.100." + std::to_string(i);
    many.push_back(testing::report(run, 3, a.c_str()));
  }
  EXPECT_EQ(testing::add_reports(s, many), 100U);
  got = testing::get(s, run.key).value();
  EXPECT_EQ(got.reports.size(), kMaxReportDestinations);
  EXPECT_EQ(got.reports_dropped, kMaxReportsPerRun - kMaxReportDestinations);
}

TEST(ResolverStats, MergeIsTheUnionOfTwoViews) {
  testing::FakeClock clock;
  const RunSnapshot run = testing::fresh_run(clock, seconds(60));
  ResolverStats a;
  ResolverStats b;
  Observation o = obs(run, "10.0.0.1", clock);
  o.probe = 3;
  a.count_one(o);
  clock.advance(seconds(2));
  o = obs(run, "10.0.0.1", clock, dns::Transport::Tcp, dns::rrtype::AAAA);
  o.probe = 7;
  b.count_one(o);
  clock.advance(seconds(2));
  b.count_one(obs(run, "10.0.0.1", clock));
  ResolverStats merged = b;
  merged.merge(a);
  EXPECT_EQ(merged.count, 3U);
  EXPECT_EQ(merged.first_seen, a.first_seen);
  EXPECT_EQ(merged.last_seen, b.last_seen);
  EXPECT_TRUE(merged.udp && merged.tcp);
  EXPECT_EQ(merged.type_count, 2);
  EXPECT_TRUE(merged.probes.test(3) && merged.probes.test(7) && merged.probes.test(1));
}

}  // namespace
}  // namespace dnsfence::witness
