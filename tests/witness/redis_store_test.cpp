// The Redis store against a real redis-server (Debian's), started by the test on a Unix socket in
// a private directory: two store instances stand in for two witnesses of a fleet. Skipped when
// redis-server is not installed.
#include "witness/redis_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "witness/fake_clock.hpp"
#include "witness/store_testing.hpp"

extern char** environ;

namespace dnsfence::witness {
namespace {

using namespace std::chrono_literals;
constexpr const char* kRedis = "/usr/bin/redis-server";

common::IpAddress ip(const char* text) {
  return common::IpAddress::parse(text).value();
}

// A throwaway redis-server: no disk, a Unix socket only, killed at the end.
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extra = {}) {
    std::string tmpl = std::filesystem::temp_directory_path() / "dnsfence-redis.XXXXXX";
    dir_ = ::mkdtemp(tmpl.data());
    socket_ = dir_ + "/redis.sock";
    std::vector<std::string> args{
        kRedis,         "--port", "0",     "--unixsocket", socket_,     "--save",           "",
        "--appendonly", "no",     "--dir", dir_,           "--logfile", dir_ + "/redis.log"};
    args.insert(args.end(), extra.begin(), extra.end());
    password_ = extra.size() == 2 && extra[0] == "--requirepass" ? extra[1] : "";
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, kRedis, nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    // Ready when it answers PING (polled: it takes a few milliseconds, more on a busy machine).
    RedisClient c;
    for (int i = 0; i < 500 && pid_ > 0; ++i) {
      if (c.connect(endpoint(), 100ms) && c.command({"PING"})) return;  // NOAUTH is an answer too
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "redis-server did not start";
  }
  ~RedisServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGCONT);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  [[nodiscard]] RedisEndpoint endpoint() const { return parse_redis_endpoint("unix:" + socket_).value(); }
  void pause() const { ::kill(pid_, SIGSTOP); }
  void resume() const { ::kill(pid_, SIGCONT); }
  RedisReply command(const std::vector<std::string>& args) const {
    RedisClient c;
    if (!c.connect(endpoint(), 1000ms)) return nullptr;
    if (!password_.empty()) c.command({"AUTH", password_});
    return c.command(args);
  }

 private:
  std::string dir_;
  std::string socket_;
  std::string password_;
  pid_t pid_ = -1;
};

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kRedis, X_OK) != 0) GTEST_SKIP() << "redis-server is not installed";
    redis_ = std::make_unique<RedisServer>();
  }
  std::unique_ptr<RedisStore> store(StoreLimits limits = {}, std::size_t buffer = 1000) {
    RedisOptions o;
    o.endpoint = redis_->endpoint();
    o.limits = limits;
    o.buffer = buffer;
    o.timeout = 300ms;
    o.retry_max = 200ms;
    return std::make_unique<RedisStore>(std::move(o), clock_);
  }
  Observation obs(const RunSnapshot& run, const char* address, std::uint16_t probe,
                  dns::Transport t = dns::Transport::Udp, std::uint16_t qtype = dns::rrtype::A) {
    return Observation{run.id, ip(address), t, qtype, probe, clock_.now()};
  }

  testing::FakeClock clock_;
  std::unique_ptr<RedisServer> redis_;
};

// The fleet's point: a resolver asks any instance; every instance's API shows the union.
TEST_F(RedisStoreTest, EveryInstanceReadsWhatAllInstancesSaw) {
  auto a = store();
  auto b = store();
  const RunSnapshot run = testing::created(*a, clock_);
  const TimePoint t0 = clock_.now();
  EXPECT_EQ(a->record(obs(run, "198.51.100.2", 1)), RecordOutcome::Queued);
  clock_.advance(1s);
  EXPECT_EQ(b->record(obs(run, "198.51.100.2", 2, dns::Transport::Tcp, dns::rrtype::AAAA)), RecordOutcome::Queued);
  EXPECT_EQ(b->record(obs(run, "2001:db8::2", 3)), RecordOutcome::Queued);
  ASSERT_TRUE(a->flush(5s));
  ASSERT_TRUE(b->flush(5s));
  for (auto* s : {a.get(), b.get()}) {
    const RunSnapshot got = testing::get(*s, run.key).value();
    EXPECT_EQ(got.probes, run.probes);
    EXPECT_EQ(got.created, run.created);
    ASSERT_EQ(got.resolvers.size(), 2U);
    const ResolverStats& r = got.resolvers[0];
    EXPECT_EQ(r.address, ip("198.51.100.2"));
    EXPECT_EQ(r.count, 2U);
    EXPECT_EQ(r.first_seen, t0);
    EXPECT_EQ(r.last_seen, t0 + 1s);
    EXPECT_TRUE(r.udp && r.tcp);
    ASSERT_EQ(r.type_count, 2);
    EXPECT_TRUE(r.probes.test(1) && r.probes.test(2));
    EXPECT_EQ(got.resolvers[1].address, ip("2001:db8::2"));
    EXPECT_FALSE(got.incomplete);
  }
}

// Issue 16: a report received by one instance is read by every other; unknown runs keep none.
TEST_F(RedisStoreTest, ReportsReachEveryInstance) {
  auto a = store();
  auto b = store();
  const RunSnapshot run = testing::created(*a, clock_);
  const RunSnapshot never = testing::fresh_run(clock_, 60s);
  EXPECT_EQ(
      testing::add_reports(*a, {testing::report(run, 1, "100.64.53.53"), testing::report(run, 2, "100.64.53.53", "tcp"),
                                testing::report(never, 1, "100.64.53.53")}),
      2U);
  const RunSnapshot got = testing::get(*b, run.key).value();
  ASSERT_EQ(got.reports.size(), 1U);
  EXPECT_EQ(got.reports[0].destination, ip("100.64.53.53"));
  EXPECT_EQ(got.reports[0].count, 2U);
  EXPECT_TRUE(got.reports[0].udp && got.reports[0].tcp);
  EXPECT_EQ(got.reports[0].reporter, "vpn-1");
  std::vector<ReportObservation> many(100, testing::report(run, 3, "198.51.100.9"));
  EXPECT_EQ(testing::add_reports(*b, many), 100U);
  const RunSnapshot trimmed = testing::get(*a, run.key).value();
  ASSERT_EQ(trimmed.reports.size(), 1U) << "the list keeps its last kMaxReportsPerRun lines";
  EXPECT_EQ(trimmed.reports[0].destination, ip("198.51.100.9"));
  EXPECT_EQ(trimmed.reports[0].count, kMaxReportsPerRun);
}

// The API's calls run after the observations queued before them: an instance reads its own writes.
TEST_F(RedisStoreTest, AnInstanceReadsItsOwnWritesWithoutWaiting) {
  auto a = store();
  const RunSnapshot run = testing::created(*a, clock_);
  a->record(obs(run, "198.51.100.2", 1));
  EXPECT_EQ(testing::get(*a, run.key).value().resolvers.size(), 1U);
  RunKey wrong = run.key;
  wrong.bytes[3] ^= 1;
  EXPECT_EQ(testing::get(*a, wrong).error(), StoreError::NotFound);
}

TEST_F(RedisStoreTest, LimitsHoldAcrossTheFleet) {
  auto a = store(StoreLimits{3600s, 2, 1});
  auto b = store(StoreLimits{3600s, 2, 1});
  const RunSnapshot run = testing::created(*a, clock_);
  testing::created(*b, clock_);
  EXPECT_EQ(testing::create(*a, testing::fresh_run(clock_, 3600s)).error(), StoreError::Full);
  a->record(obs(run, "198.51.100.2", 1));
  ASSERT_TRUE(a->flush(5s));
  b->record(obs(run, "198.51.100.3", 1));  // a second address: over max_resolvers_per_run
  ASSERT_TRUE(b->flush(5s));
  const RunSnapshot got = testing::get(*b, run.key).value();
  EXPECT_EQ(got.resolvers.size(), 1U);
  EXPECT_EQ(got.dropped, 1U);
  clock_.advance(3600s);  // both runs expired: room again
  EXPECT_TRUE(testing::create(*a, testing::fresh_run(clock_, 3600s)));
}

TEST_F(RedisStoreTest, RunsAndTheirObservationsExpireByRedisTtl) {
  const SystemClock real;
  RedisOptions o;
  o.endpoint = redis_->endpoint();
  RedisStore s(std::move(o), real);
  const RunSnapshot run = testing::fresh_run(real, 1s);
  ASSERT_TRUE(testing::create(s, run));
  s.record(Observation{run.id, ip("198.51.100.2"), dns::Transport::Udp, dns::rrtype::A, 1, real.now()});
  ASSERT_TRUE(s.flush(5s));
  RedisKeys keys;
  EXPECT_GT(reply_integer(redis_->command({"PTTL", keys.run(run.id)}).get(), -1), 0);
  EXPECT_GT(reply_integer(redis_->command({"PTTL", keys.resolvers(run.id)}).get(), -1), 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {  // Redis forgets it by itself, about a second later
    gone =
        reply_integer(redis_->command({"EXISTS", keys.resolvers(run.id)}).get(), 1) == 0 && !testing::get(s, run.key);
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(gone);
}

// Redis away (here: frozen, so every call times out): recording goes on, the API says so, and
// once Redis is back the record is complete.
TEST_F(RedisStoreTest, RecordingContinuesWhileRedisIsAwayAndCatchesUp) {
  auto a = store();
  const RunSnapshot run = testing::created(*a, clock_);
  redis_->pause();
  for (std::uint16_t p = 1; p <= 4; ++p) EXPECT_EQ(a->record(obs(run, "198.51.100.2", p)), RecordOutcome::Queued);
  EXPECT_EQ(testing::get(*a, run.key).error(), StoreError::Unavailable);
  EXPECT_FALSE(a->status().connected);
  EXPECT_EQ(a->status().buffered, 4U);
  redis_->resume();
  ASSERT_TRUE(a->flush(10s));
  const RunSnapshot got = testing::get(*a, run.key).value();
  ASSERT_EQ(got.resolvers.size(), 1U);
  EXPECT_EQ(got.resolvers[0].probes.count(), 4U);
  EXPECT_FALSE(got.incomplete);
  EXPECT_TRUE(a->status().connected);
}

TEST_F(RedisStoreTest, WhatDoesNotFitTheBufferIsCountedAndMarksTheRun) {
  auto a = store(StoreLimits{}, 5);
  const RunSnapshot run = testing::created(*a, clock_);
  redis_->pause();
  int queued = 0;
  int lost = 0;
  for (std::uint16_t p = 1; p <= 8; ++p) {
    const RecordOutcome r = a->record(obs(run, "198.51.100.2", p));
    (r == RecordOutcome::Queued ? queued : lost) += 1;
  }
  EXPECT_EQ(queued, 5);
  EXPECT_EQ(lost, 3);
  EXPECT_EQ(a->status().overflowed, 3U);
  redis_->resume();
  ASSERT_TRUE(a->flush(10s));
  RunSnapshot got;
  for (int i = 0; i < 100; ++i) {  // the lost count follows the observations in the next round trip
    got = testing::get(*a, run.key).value();
    if (got.lost == 3) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(got.lost, 3U);
  EXPECT_TRUE(got.incomplete);
  EXPECT_EQ(got.resolvers.at(0).probes.count(), 5U);
}

// A restarted Redis forgets the scripts: they are loaded again and nothing is lost.
TEST_F(RedisStoreTest, ScriptsAreLoadedAgainWhenRedisForgetsThem) {
  auto a = store();
  const RunSnapshot run = testing::created(*a, clock_);
  a->record(obs(run, "198.51.100.2", 1));
  ASSERT_TRUE(a->flush(5s));
  ASSERT_TRUE(redis_->command({"SCRIPT", "FLUSH"}));
  a->record(obs(run, "198.51.100.3", 1));
  ASSERT_TRUE(a->flush(5s));
  EXPECT_EQ(testing::get(*a, run.key).value().resolvers.size(), 2U);
}

// A Redis with requirepass: the store authenticates; with a wrong password it says why.
TEST(RedisStoreAuth, AuthenticatesAndReportsAWrongPassword) {
  if (::access(kRedis, X_OK) != 0) GTEST_SKIP() << "redis-server is not installed";
  const RedisServer redis({"--requirepass", "s3cret"});
  testing::FakeClock clock;
  RedisOptions o;
  o.endpoint = redis.endpoint();
  o.password = "s3cret";
  RedisStore good(o, clock);
  const RunSnapshot run = testing::created(good, clock);
  good.record(Observation{run.id, ip("198.51.100.2"), dns::Transport::Udp, dns::rrtype::A, 1, clock.now()});
  EXPECT_EQ(testing::get(good, run.key).value().resolvers.size(), 1U);
  o.password = "wrong";
  o.retry_max = 100ms;
  RedisStore bad(o, clock);
  EXPECT_EQ(testing::get(bad, run.key).error(), StoreError::Unavailable);
  const StoreStatus st = bad.status();
  EXPECT_FALSE(st.connected);
  EXPECT_NE(st.error.find("AUTH"), std::string::npos) << st.error;
}

TEST(RedisEndpoint, Parses) {
  EXPECT_EQ(parse_redis_endpoint("redis://10.0.0.5")->to_string(), "redis://10.0.0.5:6379");
  EXPECT_EQ(parse_redis_endpoint("redis://[2001:db8::5]:6380")->to_string(), "redis://[2001:db8::5]:6380");
  EXPECT_EQ(parse_redis_endpoint("redis://redis.internal:7000")->port, 7000);
  EXPECT_EQ(parse_redis_endpoint("unix:/run/redis/redis.sock")->unix_path, "/run/redis/redis.sock");
  for (const char* bad : {"redis://", "redis://h:0", "redis://h:99999", "redis://:pw@h", "redis://h/0", "unix:rel",
                          "http://h", "memory", "redis://[::1"})
    EXPECT_FALSE(parse_redis_endpoint(bad)) << bad;
}

}  // namespace
}  // namespace dnsfence::witness
