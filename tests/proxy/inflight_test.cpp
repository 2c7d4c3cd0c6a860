// The in-flight table: IDs, free list, deadline order, stored questions.

#include "proxy/inflight.hpp"

#include <gtest/gtest.h>

#include <set>

#include "dns/testing_packets.hpp"

namespace dnsfence::proxy {
namespace {

TEST(InflightTable, AcquireFindReleaseAndFull) {
  InflightTable t(3);
  std::set<std::uint16_t> ids;
  std::vector<std::uint32_t> slots;
  for (int i = 0; i < 3; ++i) {
    auto s = t.acquire(0x1111222233334444ULL, 0, 100);  // the same draws: IDs must still differ
    ASSERT_TRUE(s.has_value());
    slots.push_back(*s);
    ids.insert(t[*s].upstream_id);
    EXPECT_EQ(t.find(t[*s].upstream_id), *s);
  }
  EXPECT_EQ(ids.size(), 3U);
  EXPECT_EQ(t.size(), 3U);
  EXPECT_FALSE(t.acquire(1, 0, 100).has_value());
  const auto id = t[slots[1]].upstream_id;
  t.release(slots[1]);
  EXPECT_FALSE(t.find(id).has_value());
  EXPECT_TRUE(t.acquire(2, 0, 100).has_value());
}

TEST(InflightTable, ExpiresInDeadlineOrder) {
  InflightTable t(8);
  auto a = *t.acquire(1, 0, 10);
  auto b = *t.acquire(2, 0, 20);
  auto c = *t.acquire(3, 0, 30);
  EXPECT_FALSE(t.expired(5).has_value());
  t.release(a);  // answered: never expires
  EXPECT_EQ(t.expired(25), b);
  t.release(b);
  EXPECT_FALSE(t.expired(25).has_value());
  EXPECT_EQ(t.expired(30), c);
}

TEST(InflightTable, CapacityIsCappedAtHalfTheIdSpace) {
  EXPECT_EQ(InflightTable(1'000'000).capacity(), 32768U);
}

TEST(Slot, QuestionMatchIgnoresCaseOnly) {
  auto q = dns::testing::query("www.Example", dns::rrtype::AAAA, 1232, false, 7);
  Slot slot;
  slot.client_id = 7;
  store_question(slot, *dns::parse(q));
  auto same = dns::testing::query("WWW.example", dns::rrtype::AAAA, 0, false, 9);
  auto other_type = dns::testing::query("www.example", dns::rrtype::A);
  auto other_name = dns::testing::query("ww.example", dns::rrtype::AAAA);
  EXPECT_TRUE(same_question(slot, *dns::parse(same)));
  EXPECT_FALSE(same_question(slot, *dns::parse(other_type)));
  EXPECT_FALSE(same_question(slot, *dns::parse(other_name)));

  std::array<std::uint8_t, 512> out{};
  const std::size_t n = build_servfail(slot, dns::Transport::Udp, out);
  auto r = dns::parse(dns::Bytes(out.data(), n));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header().id, 7);
  EXPECT_EQ(r->rcode(), 2);
  EXPECT_TRUE(r->header().has(dns::flag::RD));
  EXPECT_TRUE(same_question(slot, *r));
}

}  // namespace
}  // namespace dnsfence::proxy
