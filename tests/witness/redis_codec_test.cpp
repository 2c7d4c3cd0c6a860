// How runs and observations are written to and read from Redis, without a server.
#include "witness/redis_codec.hpp"

#include <gtest/gtest.h>

#include "common/hex.hpp"
#include "witness/fake_clock.hpp"

namespace dnsfence::witness {
namespace {

using std::chrono::seconds;
using Fields = std::vector<std::pair<std::string, std::string>>;

common::IpAddress ip(const char* text) {
  return common::IpAddress::parse(text).value();
}

TEST(RedisCodec, OneScriptCallPerRunWithEachResolverAggregated) {
  testing::FakeClock clock;
  const RunId a = RunKey::random().id();
  const RunId b = RunKey::random().id();
  const TimePoint t0 = clock.now();
  std::vector<Observation> batch{
      {a, ip("198.51.100.2"), dns::Transport::Udp, dns::rrtype::A, 1, t0},
      {b, ip("2001:db8::2"), dns::Transport::Tcp, dns::rrtype::TXT, 9, t0},
      {a, ip("198.51.100.2"), dns::Transport::Tcp, dns::rrtype::AAAA, 10, t0 + seconds(2)},
  };
  const RedisKeys keys;
  const auto cmds = record_commands(batch, keys, "SHA", 64);
  ASSERT_EQ(cmds.size(), 2U);
  const auto& ca = cmds[0][3] == keys.run(a) ? cmds[0] : cmds[1];
  ASSERT_EQ(ca.size(), 6U + 7U);
  EXPECT_EQ(ca[0], "EVALSHA");
  EXPECT_EQ(ca[1], "SHA");
  EXPECT_EQ(ca[2], "2");
  EXPECT_EQ(ca[4], keys.resolvers(a));
  EXPECT_EQ(ca[5], "64");
  EXPECT_EQ(ca[6], "198.51.100.2");
  EXPECT_EQ(ca[7], std::to_string(to_ms(t0)));
  EXPECT_EQ(ca[8], std::to_string(to_ms(t0 + seconds(2))));
  EXPECT_EQ(ca[9], "2");
  EXPECT_EQ(ca[10], "3");                         // udp and tcp
  EXPECT_EQ(ca[11], "1,28");                      // A, AAAA
  EXPECT_EQ(ca[12], std::string("\x40\x20", 2));  // probes 1 and 10, most significant bit first
  // A Redis Cluster keeps one run's keys together: the same hash tag.
  EXPECT_NE(keys.run(a).find("{" + a.to_text() + "}"), std::string::npos);
  EXPECT_NE(keys.resolvers(a).find("{" + a.to_text() + "}"), std::string::npos);
}

Fields run_hash(const RunKey& key, std::int64_t created, std::int64_t expires, const char* lost = "0") {
  return {{"check", common::to_hex(key.check(), 0)},
          {"created", std::to_string(created)},
          {"expires", std::to_string(expires)},
          {"probes", "9"},
          {"key_id", "17"},
          {"dropped", "2"},
          {"lost", lost}};
}

TEST(RedisCodec, DecodesARunFromItsHashes) {
  const RunKey key = RunKey::random();
  const Fields resolvers{{"2001:db8::2|c", "1"},    {"2001:db8::2|f", "5000"},  {"2001:db8::2|l", "5000"},
                         {"2001:db8::2|t", "2"},    {"2001:db8::2|q", "16"},    {"2001:db8::2|p", "\x10"},
                         {"198.51.100.2|c", "3"},   {"198.51.100.2|f", "2000"}, {"198.51.100.2|l", "7000"},
                         {"198.51.100.2|t", "1"},   {"198.51.100.2|q", "1,28"}, {"198.51.100.2|p", "\x40"},
                         {"not an address|c", "1"}, {"198.51.100.9|x", "1"}};
  const auto run = decode_run(key, run_hash(key, 1000, 9000), resolvers, {});
  ASSERT_TRUE(run);
  EXPECT_EQ(run->key, key);
  EXPECT_EQ(run->id, key.id());
  EXPECT_EQ(run->probes, 9);
  EXPECT_EQ(run->key_id, 17);
  EXPECT_EQ(run->dropped, 2U);
  EXPECT_FALSE(run->incomplete);
  ASSERT_EQ(run->resolvers.size(), 2U);  // in order first seen; junk fields ignored
  const ResolverStats& r = run->resolvers[0];
  EXPECT_EQ(r.address, ip("198.51.100.2"));
  EXPECT_EQ(r.count, 3U);
  EXPECT_EQ(to_ms(r.first_seen), 2000);
  EXPECT_EQ(to_ms(r.last_seen), 7000);
  EXPECT_TRUE(r.udp);
  EXPECT_FALSE(r.tcp);
  ASSERT_EQ(r.type_count, 2);
  EXPECT_EQ(r.types[1], dns::rrtype::AAAA);
  EXPECT_TRUE(r.probes.test(1));
  EXPECT_EQ(r.probes.count(), 1U);
  EXPECT_TRUE(run->resolvers[1].tcp);
  EXPECT_TRUE(run->resolvers[1].probes.test(3));
}

TEST(RedisCodec, AWrongKeyOrNoRunIsNotFound) {
  const RunKey key = RunKey::random();
  RunKey other = key;
  other.bytes[0] ^= 1;
  EXPECT_EQ(decode_run(other, run_hash(key, 1000, 9000), {}, {}).error(), StoreError::NotFound);
  EXPECT_EQ(decode_run(key, {}, {}, {}).error(), StoreError::NotFound);
}

TEST(RedisCodec, LostObservationsMarkARunIncomplete) {
  const RunKey key = RunKey::random();
  EXPECT_TRUE(decode_run(key, run_hash(key, 1000, 9000, "4"), {}, {})->incomplete);
  EXPECT_EQ(decode_run(key, run_hash(key, 1000, 9000, "4"), {}, {})->lost, 4U);
  const auto window = [](std::int64_t from, std::int64_t to) {
    return lost_window("ns1:42", from_ms(from), from_ms(to), 3);
  };
  EXPECT_EQ(window(1, 2), "ns1:42|1|2|3");
  EXPECT_TRUE(decode_run(key, run_hash(key, 1000, 9000), {}, {window(8000, 12000)})->incomplete);
  EXPECT_TRUE(decode_run(key, run_hash(key, 1000, 9000), {}, {window(500, 1500)})->incomplete);
  EXPECT_FALSE(decode_run(key, run_hash(key, 1000, 9000), {}, {window(9000, 12000), window(1, 999)})->incomplete);
  EXPECT_FALSE(decode_run(key, run_hash(key, 1000, 9000), {}, {"garbage", "a|b|c|d"})->incomplete);
}

TEST(RedisCodec, FreshRunFields) {
  testing::FakeClock clock;
  RunSnapshot run;
  run.key = RunKey::random();
  run.id = run.key.id();
  run.created = clock.now();
  run.expires = clock.now() + seconds(60);
  run.probes = 9;
  run.key_id = 3;
  const auto f = run_fields(run);
  Fields pairs;
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) pairs.emplace_back(f[i], f[i + 1]);
  const auto back = decode_run(run.key, pairs, {}, {});
  ASSERT_TRUE(back);
  EXPECT_EQ(back->created, run.created);
  EXPECT_EQ(back->expires, run.expires);
  EXPECT_EQ(back->probes, 9);
  EXPECT_EQ(back->key_id, 3);
}

}  // namespace
}  // namespace dnsfence::witness
