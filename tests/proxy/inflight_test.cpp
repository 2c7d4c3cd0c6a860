// The in-flight table: IDs, free list, deadline order, stored questions.

#include "proxy/inflight.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

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

// An answer from upstream: the question, `records` TXT records of `length` octets each, and an
// OPT record (size 1232, DO as asked) when `edns`.
std::vector<std::uint8_t> txt_answer(std::uint16_t flags, int records, std::size_t length, bool edns, bool do_bit) {
  dns::testing::PacketBytes p;
  p.header(0x4242, flags, 1, static_cast<std::uint16_t>(records), 0, edns ? 1 : 0)
      .name("big.example")
      .u16(dns::rrtype::TXT)
      .u16(dns::rrclass::IN);
  for (int i = 0; i < records; ++i) {
    p.raw({0xc0, 12}).u16(dns::rrtype::TXT).u16(dns::rrclass::IN).u32(300);
    p.u16(static_cast<std::uint16_t>(length + 1)).u8(static_cast<std::uint8_t>(length));
    for (std::size_t j = 0; j < length; ++j) p.u8('x');
  }
  if (edns) p.opt(1232, 0, do_bit);
  return p.b;
}

Slot udp_slot(std::uint16_t edns_size, bool do_bit) {
  Slot slot;
  slot.kind = SlotKind::Udp;
  slot.upstream_id = 0x4242;
  store_question(slot, *dns::parse(dns::testing::query("big.example", dns::rrtype::TXT, edns_size, do_bit, 7)));
  return slot;
}

TEST(TruncationRetry, OnlyTruncatedAnswersToEdnsUdpClientsAreRetried) {
  constexpr std::uint16_t kTcFlags = 0x8000 | dns::flag::TC | dns::flag::RD | dns::flag::RA;
  const auto truncated = txt_answer(kTcFlags, 0, 0, true, false);
  const auto complete = txt_answer(0x8180, 3, 200, true, false);
  const Slot edns = udp_slot(4096, false);
  EXPECT_TRUE(retry_over_tcp(edns, *dns::parse(truncated)));
  EXPECT_FALSE(retry_over_tcp(edns, *dns::parse(complete)));
  // Without EDNS (or with 512) the full answer could not reach the client over UDP anyway.
  EXPECT_FALSE(retry_over_tcp(udp_slot(0, false), *dns::parse(truncated)));
  EXPECT_FALSE(retry_over_tcp(udp_slot(512, false), *dns::parse(truncated)));
  Slot tcp = edns;
  tcp.kind = SlotKind::Tcp;
  EXPECT_FALSE(retry_over_tcp(tcp, *dns::parse(truncated)));
  Slot again = edns;
  again.kind = SlotKind::UdpOverTcp;
  EXPECT_FALSE(retry_over_tcp(again, *dns::parse(truncated)));  // never twice
}

TEST(TruncationRetry, RetryQueryCarriesTheQuestionRdCdEdnsAndDo) {
  const Slot slot = udp_slot(4096, true);
  std::array<std::uint8_t, 512> out{};
  const std::size_t n = build_retry_query(slot, out);
  auto q = dns::parse(dns::Bytes(out.data(), n));
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->header().id, 0x4242);
  EXPECT_TRUE(q->header().has(dns::flag::RD));
  EXPECT_FALSE(q->header().has(dns::flag::QR));
  EXPECT_TRUE(same_question(slot, *q));
  ASSERT_TRUE(q->edns().has_value());
  EXPECT_EQ(q->edns()->udp_size, 4096);
  EXPECT_TRUE(q->edns()->do_bit);

  const Slot plain = udp_slot(0, false);
  const std::size_t m = build_retry_query(plain, out);
  auto p = dns::parse(dns::Bytes(out.data(), m));
  ASSERT_TRUE(p.has_value());
  EXPECT_FALSE(p->edns().has_value());
  EXPECT_EQ(build_retry_query(Slot{}, out), 0U);  // no stored question
}

TEST(TruncationRetry, FullAnswerFitsTheClientOrIsCutWithTc) {
  auto answer = txt_answer(0x8180, 3, 200, true, true);  // about 680 octets
  ASSERT_GT(answer.size(), 600U);
  EXPECT_EQ(fit_udp_client(udp_slot(4096, true), answer), answer.size());  // fits: unchanged
  const std::size_t n = fit_udp_client(udp_slot(600, true), answer);
  ASSERT_GT(n, 0U);
  ASSERT_LE(n, 600U);
  auto cut = dns::parse(dns::Bytes(answer.data(), n));
  ASSERT_TRUE(cut.has_value());
  EXPECT_TRUE(cut->header().has(dns::flag::TC));
  EXPECT_EQ(cut->header().ancount, 0);
  EXPECT_EQ(cut->header().id, 0x4242);
  ASSERT_TRUE(cut->question().has_value());
  ASSERT_TRUE(cut->edns().has_value());
  EXPECT_TRUE(cut->edns()->do_bit);

  auto again = txt_answer(0x8180, 3, 200, true, false);
  const std::size_t k = fit_udp_client(udp_slot(0, false), again);  // no EDNS: 512, no OPT
  auto plain = dns::parse(dns::Bytes(again.data(), k));
  ASSERT_TRUE(plain.has_value());
  EXPECT_TRUE(plain->header().has(dns::flag::TC));
  EXPECT_FALSE(plain->edns().has_value());
  EXPECT_EQ(plain->header().arcount, 0);

  std::vector<std::uint8_t> garbage(700, 0xff);
  EXPECT_EQ(fit_udp_client(udp_slot(600, false), garbage), 0U);
}

}  // namespace
}  // namespace dnsfence::proxy
