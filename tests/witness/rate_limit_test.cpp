// Run creation per client prefix, and DNS response rate limiting, with a clock moved by hand.
#include "witness/rate_limit.hpp"

#include <gtest/gtest.h>

#include "dns/message.hpp"
#include "dns/testing_packets.hpp"
#include "witness/rrl.hpp"

namespace dnsfence::witness {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

common::IpAddress ip(const char* text) {
  return common::IpAddress::parse(text).value();
}

TEST(ClientPrefix, V4Slash24AndV6Slash56) {
  EXPECT_EQ(client_prefix(ip("192.0.2.77"), 24, 56).to_string(), "192.0.2.0/24");
  EXPECT_EQ(client_prefix(ip("2001:db8:0:1ff::1"), 24, 56).to_string(), "2001:db8:0:100::/56");
  EXPECT_EQ(client_prefix(ip("127.1.0.1"), 24, 56), client_prefix(ip("127.1.0.200"), 24, 56));
  EXPECT_NE(client_prefix(ip("127.1.0.1"), 24, 56), client_prefix(ip("127.0.0.1"), 24, 56));
}

TEST(PrefixRateLimiter, ABurstThenTheRatePerPrefix) {
  PrefixRateLimiter limiter(RateLimit{6, 3});  // one token every 10 s, three at once
  const Steady::time_point t0{};
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.acquire(ip("198.51.100.1"), t0));
  const auto wait = limiter.acquire(ip("198.51.100.200"), t0);  // the same /24
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 10s);
  EXPECT_FALSE(limiter.acquire(ip("198.51.101.1"), t0));  // the next /24 is someone else
  EXPECT_TRUE(limiter.acquire(ip("198.51.100.1"), t0 + 9s));
  EXPECT_FALSE(limiter.acquire(ip("198.51.100.1"), t0 + 10s));
  EXPECT_TRUE(limiter.acquire(ip("198.51.100.1"), t0 + 10s));
}

TEST(PrefixRateLimiter, ZeroMeansNoLimit) {
  PrefixRateLimiter limiter(RateLimit{0, 1});
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.acquire(ip("198.51.100.1"), Steady::time_point{}));
  EXPECT_EQ(limiter.tracked(), 0U);
}

TEST(PrefixRateLimiter, RemembersABoundedNumberOfPrefixesIdleOnesFirst) {
  RateLimit limit{60, 2};  // a token a second
  limit.max_tracked = 8;
  PrefixRateLimiter limiter(limit);
  const Steady::time_point t0{};
  for (int i = 0; i < 7; ++i) limiter.acquire(ip(("2001:db8:" + std::to_string(i) + "::1").c_str()), t0);
  limiter.acquire(ip("198.51.100.1"), t0 + 10s);
  limiter.acquire(ip("198.51.100.1"), t0 + 10s);  // throttled now
  EXPECT_EQ(limiter.tracked(), 8U);
  EXPECT_FALSE(limiter.acquire(ip("10.0.0.1"), t0 + 10s));
  EXPECT_EQ(limiter.tracked(), 2U);                            // the seven idle (refilled) prefixes were forgotten
  EXPECT_TRUE(limiter.acquire(ip("198.51.100.1"), t0 + 10s));  // the throttled one was not
  for (int i = 0; i < 100; ++i) {
    limiter.acquire(ip(("10.1." + std::to_string(i) + ".1").c_str()), t0 + 20s);
    EXPECT_LE(limiter.tracked(), 8U);
  }
}

RrlConfig rrl(std::uint32_t rate, std::uint32_t slip) {
  RrlConfig c;
  c.rate = rate;
  c.slip = slip;
  c.table_size = 64;
  return c;
}

TEST(Rrl, WithinTheRateEverythingIsSent) {
  ResponseRateLimiter limiter(rrl(5, 2));
  for (std::uint64_t ms = 0; ms < 10'000; ms += 250)  // four a second, below five
    EXPECT_EQ(limiter.check(ip("198.51.100.2"), ms), RrlAction::Send) << ms;
}

TEST(Rrl, OverTheRateEverySlipthAnswerIsTruncatedTheRestDropped) {
  ResponseRateLimiter limiter(rrl(5, 2));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.check(ip("198.51.100.2"), 1000), RrlAction::Send);
  EXPECT_EQ(limiter.check(ip("198.51.100.2"), 1000), RrlAction::Drop);
  EXPECT_EQ(limiter.check(ip("198.51.100.99"), 1000), RrlAction::Slip);  // same /24, same bucket
  EXPECT_EQ(limiter.check(ip("198.51.100.2"), 1000), RrlAction::Drop);
  EXPECT_EQ(limiter.check(ip("198.51.100.2"), 1000), RrlAction::Slip);
  EXPECT_EQ(limiter.check(ip("198.51.101.2"), 1000), RrlAction::Send);  // another prefix
  EXPECT_EQ(limiter.check(ip("198.51.100.2"), 1200), RrlAction::Send);  // 200 ms: one token back
  EXPECT_EQ(limiter.check(ip("198.51.100.2"), 1200), RrlAction::Drop);
  EXPECT_EQ(limiter.check(ip("198.51.100.2"), 2200), RrlAction::Send);
}

TEST(Rrl, SlipZeroDropsAllSlipOneTruncatesAll) {
  ResponseRateLimiter drop(rrl(1, 0));
  ResponseRateLimiter slip(rrl(1, 1));
  EXPECT_EQ(drop.check(ip("2001:db8::1"), 0), RrlAction::Send);
  EXPECT_EQ(slip.check(ip("2001:db8::1"), 0), RrlAction::Send);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(drop.check(ip("2001:db8::1"), 0), RrlAction::Drop);
    EXPECT_EQ(slip.check(ip("2001:db8:0:ff::1"), 0), RrlAction::Slip);  // the same /56
  }
}

TEST(Rrl, ExemptPrefixesAndOffAreNeverLimited) {
  RrlConfig c = rrl(1, 2);
  c.exempt = {common::Prefix::parse("10.64.0.0/16").value()};
  ResponseRateLimiter limiter(c);
  ResponseRateLimiter off(rrl(0, 2));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(limiter.check(ip("10.64.0.53"), 0), RrlAction::Send);
    EXPECT_EQ(off.check(ip("198.51.100.2"), 0), RrlAction::Send);
  }
  EXPECT_FALSE(off.enabled());
}

TEST(Rrl, TruncatedReplyKeepsOnlyTheQuestion) {
  dns::testing::PacketBytes p;
  p.header(0x1234, 0x8500, 1, 1, 1, 0).name("probe.witness.test").u16(dns::rrtype::A).u16(dns::rrclass::IN);
  p.u16(0xc00c).u16(dns::rrtype::A).u16(dns::rrclass::IN).u32(0).u16(4).u8(192).u8(0).u8(2).u8(80);
  p.u16(0xc00c).u16(dns::rrtype::A).u16(dns::rrclass::IN).u32(0).u16(4).u8(192).u8(0).u8(2).u8(81);
  std::vector<std::uint8_t> reply = p.b;
  const std::size_t n = truncate_reply(reply, reply.size());
  EXPECT_EQ(n, 12 + 20 + 4U);
  auto m = dns::parse(dns::Bytes(reply.data(), n));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->header().has(dns::flag::TC));
  EXPECT_EQ(m->header().id, 0x1234);
  EXPECT_EQ(m->header().ancount, 0);
  EXPECT_EQ(m->header().nscount, 0);
  EXPECT_EQ(m->question()->qtype, dns::rrtype::A);
  std::vector<std::uint8_t> junk{1, 2, 3};
  EXPECT_EQ(truncate_reply(junk, junk.size()), 3U);
}

}  // namespace
}  // namespace dnsfence::witness
