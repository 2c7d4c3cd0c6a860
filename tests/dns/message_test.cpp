#include "dns/message.hpp"

#include <gtest/gtest.h>

#include "dns/testing_packets.hpp"

namespace dnsfence::dns {
namespace {

using testing::PacketBytes;
using testing::query;

TEST(Parse, QueryWithoutEdns) {
  auto p = query("example.net", rrtype::AAAA);
  auto m = parse(p);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->header().id, 0x1234);
  EXPECT_TRUE(m->header().has(flag::RD));
  ASSERT_TRUE(m->question().has_value());
  EXPECT_EQ(m->question()->qtype, rrtype::AAAA);
  EXPECT_EQ(m->question()->qclass, rrclass::IN);
  EXPECT_EQ(to_text(p, m->question()->name), "example.net.");
  EXPECT_FALSE(m->edns().has_value());
  EXPECT_EQ(m->question_end(), p.size());
}

TEST(Parse, EdnsFieldsAndOptions) {
  PacketBytes p;
  p.header(7, 0x0100, 1, 0, 0, 1).name("a.test").u16(rrtype::A).u16(rrclass::IN);
  // NSID (empty) and a cookie of 8 octets.
  p.opt(1232, 0, true, {0, 3, 0, 0, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});
  auto m = parse(p.b);
  ASSERT_TRUE(m.has_value());
  ASSERT_TRUE(m->edns().has_value());
  EXPECT_EQ(m->edns()->udp_size, 1232);
  EXPECT_EQ(m->edns()->version, 0);
  EXPECT_TRUE(m->edns()->do_bit);
  std::vector<std::pair<std::uint16_t, std::size_t>> seen;
  for (const EdnsOption& o : m->edns_options()) seen.emplace_back(o.code, o.data.size());
  EXPECT_EQ(seen, (std::vector<std::pair<std::uint16_t, std::size_t>>{{3, 0}, {10, 8}}));
}

TEST(Parse, ExtendedRcode) {
  PacketBytes p;
  p.header(7, 0x8000, 1, 0, 0, 1).name("a.test").u16(1).u16(1);
  p.u8(0).u16(rrtype::OPT).u16(512).u8(1).u8(0).u16(0).u16(0);  // ext-rcode 1 -> BADVERS (16)
  auto m = parse(p.b);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rcode(), 16);
}

TEST(Parse, IteratesRecordsOfEachSection) {
  PacketBytes p;
  p.header(1, 0x8180, 1, 2, 1, 0).name("x.test").u16(rrtype::A).u16(rrclass::IN);
  p.raw({0xc0, 12}).u16(rrtype::A).u16(rrclass::IN).u32(300).u16(4).raw({192, 0, 2, 1});
  p.raw({0xc0, 12}).u16(rrtype::A).u16(rrclass::IN).u32(300).u16(4).raw({192, 0, 2, 2});
  p.raw({0xc0, 14}).u16(rrtype::NS).u16(rrclass::IN).u32(60).u16(2).raw({0xc0, 12});
  auto m = parse(p.b);
  ASSERT_TRUE(m.has_value());
  int answers = 0;
  for (const Record& rr : m->records(Section::Answer)) {
    EXPECT_EQ(rr.type, rrtype::A);
    EXPECT_EQ(rr.ttl, 300U);
    EXPECT_EQ(rdata(p.b, rr)[3], ++answers);
  }
  EXPECT_EQ(answers, 2);
  auto auth = m->records(Section::Authority);
  ASSERT_EQ(auth.size(), 1);
  EXPECT_EQ(to_text(p.b, auth.begin()->owner), "test.");
  EXPECT_EQ(m->records(Section::Additional).begin(), m->records(Section::Additional).end());
}

TEST(Parse, RejectsShortHeader) {
  std::vector<std::uint8_t> p(11, 0);
  EXPECT_EQ(parse(p).error(), ParseError::Truncated);
}

TEST(Parse, CountsAreValidatedAgainstThePacket) {
  auto p = query("a.test");
  p[7] = 1;  // ANCOUNT 1 but no answer present
  EXPECT_EQ(parse(p).error(), ParseError::Truncated);
  auto q = query("a.test");
  q[5] = 0;  // QDCOUNT 0 leaves the question as trailing bytes
  EXPECT_EQ(parse(q).error(), ParseError::TrailingData);
}

TEST(Parse, RejectsMoreThanOneQuestion) {
  PacketBytes p;
  p.header(1, 0x0100, 2).name("a.test").u16(1).u16(1).name("b.test").u16(1).u16(1);
  EXPECT_EQ(parse(p.b).error(), ParseError::QuestionCount);
}

TEST(Parse, RejectsTruncatedQuestionAndRdata) {
  auto p = query("a.test");
  p.pop_back();
  EXPECT_EQ(parse(p).error(), ParseError::Truncated);
  PacketBytes r;
  r.header(1, 0x8180, 1, 1).name("a.test").u16(1).u16(1).raw({0xc0, 12}).u16(1).u16(1).u32(1).u16(4).raw({1, 2});
  EXPECT_EQ(parse(r.b).error(), ParseError::Truncated);
}

TEST(Parse, RejectsTrailingData) {
  auto p = query("a.test");
  p.push_back(0);
  EXPECT_EQ(parse(p).error(), ParseError::TrailingData);
}

TEST(Parse, RejectsOptOutsideAdditional) {
  PacketBytes p;
  p.header(1, 0x8180, 1, 1).name("a.test").u16(1).u16(1).opt(512, 0, false);
  EXPECT_EQ(parse(p.b).error(), ParseError::BadOpt);
}

TEST(Parse, RejectsTwoOpts) {
  PacketBytes p;
  p.header(1, 0x0100, 1, 0, 0, 2).name("a.test").u16(1).u16(1).opt(512, 0, false).opt(512, 0, false);
  EXPECT_EQ(parse(p.b).error(), ParseError::BadOpt);
}

TEST(Parse, RejectsOptNotAtRoot) {
  PacketBytes p;
  p.header(1, 0x0100, 1, 0, 0, 1).name("a.test").u16(1).u16(1).raw({0xc0, 12});
  p.u16(rrtype::OPT).u16(512).u32(0).u16(0);
  EXPECT_EQ(parse(p.b).error(), ParseError::BadOpt);
}

TEST(Parse, RejectsMalformedOptions) {
  PacketBytes p;
  p.header(1, 0x0100, 1, 0, 0, 1).name("a.test").u16(1).u16(1).opt(512, 0, false, {0, 10, 0, 9, 1, 2});
  EXPECT_EQ(parse(p.b).error(), ParseError::BadOpt);
}

TEST(Parse, RejectsOversizedPacket) {
  std::vector<std::uint8_t> p(65536, 0);
  EXPECT_EQ(parse(p).error(), ParseError::TooLarge);
}

TEST(Parse, MessageIsASmallValue) {
  // Offsets into caller-owned bytes: no per-record storage, so the value stays small.
  EXPECT_LE(sizeof(Message), 80U);
}

}  // namespace
}  // namespace dnsfence::dns
