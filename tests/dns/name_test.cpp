#include "dns/name.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "dns/testing_packets.hpp"

namespace dnsfence::dns {
namespace {

using testing::PacketBytes;

std::expected<NameRef, ParseError> read_at(const std::vector<std::uint8_t>& p, std::size_t at) {
  Reader r(p, at);
  return read_name(r);
}

// A header's worth of zeros so that offsets >= 12 are legal pointer targets.
PacketBytes with_header() {
  PacketBytes p;
  p.header(0, 0, 0);
  return p;
}

TEST(ReadName, ReadsUncompressed) {
  auto p = with_header().name("www.Example.net").u16(1).b;
  Reader r(p, 12);
  auto n = read_name(r);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->offset, 12);
  EXPECT_EQ(n->labels, 3);
  EXPECT_EQ(n->length, 17);
  EXPECT_EQ(r.position(), 12U + 17U);
  EXPECT_EQ(to_text(p, *n), "www.Example.net.");
}

TEST(ReadName, ReadsRoot) {
  auto p = with_header().u8(0).b;
  auto n = read_at(p, 12);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->labels, 0);
  EXPECT_EQ(n->length, 1);
  EXPECT_EQ(to_text(p, *n), ".");
}

TEST(ReadName, FollowsBackwardPointerAndResumesAfterIt) {
  auto p = with_header().name("example.net").raw({3, 'w', 'w', 'w', 0xc0, 12}).u16(0xbeef).b;
  Reader r(p, 25);
  auto n = read_name(r);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->labels, 3);
  EXPECT_EQ(to_text(p, *n), "www.example.net.");
  EXPECT_EQ(r.position(), 31U);
  EXPECT_EQ(r.u16(), 0xbeef);
}

TEST(ReadName, RejectsPointerLoop) {
  auto p = with_header().raw({0xc0, 12}).b;  // points at itself
  EXPECT_EQ(read_at(p, 12).error(), ParseError::BadPointer);
  auto q = with_header().raw({1, 'a', 0xc0, 12}).b;  // a -> back to a -> ...
  EXPECT_EQ(read_at(q, 12).error(), ParseError::BadPointer);
}

TEST(ReadName, RejectsForwardPointer) {
  auto p = with_header().raw({0xc0, 14, 1, 'a', 0}).b;
  EXPECT_EQ(read_at(p, 12).error(), ParseError::BadPointer);
}

TEST(ReadName, RejectsPointerIntoHeader) {
  auto p = with_header().raw({0xc0, 2}).b;
  EXPECT_EQ(read_at(p, 12).error(), ParseError::BadPointer);
}

TEST(ReadName, RejectsNameLongerThan255) {
  PacketBytes p = with_header();
  for (int i = 0; i < 4; ++i) {  // 4 x 64 = 256 octets, + root = 257
    p.u8(63);
    for (int k = 0; k < 63; ++k) p.u8('a');
  }
  p.u8(0);
  EXPECT_EQ(read_at(p.b, 12).error(), ParseError::NameTooLong);
}

TEST(ReadName, AcceptsExactly255) {
  PacketBytes p = with_header();
  for (int i = 0; i < 3; ++i) {
    p.u8(63);
    for (int k = 0; k < 63; ++k) p.u8('a');
  }
  p.u8(61);
  for (int k = 0; k < 61; ++k) p.u8('b');
  p.u8(0);
  auto n = read_at(p.b, 12);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->length, 255);
}

TEST(ReadName, RejectsNameTooLongThroughPointers) {
  PacketBytes p = with_header();
  for (int i = 0; i < 3; ++i) {
    p.u8(63);
    for (int k = 0; k < 63; ++k) p.u8('a');
  }
  p.u8(0);  // 193 octets, fine on its own
  p.u8(63);
  for (int k = 0; k < 63; ++k) p.u8('c');
  p.raw({0xc0, 12});  // 64 + 193 = 257
  EXPECT_TRUE(read_at(p.b, 12).has_value());
  EXPECT_EQ(read_at(p.b, 12 + 193).error(), ParseError::NameTooLong);
}

TEST(ReadName, RejectsMoreThan127Labels) {
  // 128 one-octet labels = 257 octets; the label check fires first only with shorter labels,
  // so build 127 labels of length 1 (254 octets + root = 255) and add one more.
  PacketBytes p = with_header();
  for (int i = 0; i < 127; ++i) p.raw({1, 'x'});
  p.u8(0);
  EXPECT_TRUE(read_at(p.b, 12).has_value());
  PacketBytes q = with_header();
  for (int i = 0; i < 128; ++i) q.raw({1, 'x'});
  q.u8(0);
  auto e = read_at(q.b, 12).error();
  EXPECT_TRUE(e == ParseError::NameTooLong || e == ParseError::TooManyLabels);
}

TEST(ReadName, RejectsBadLabelTypes) {
  EXPECT_EQ(read_at(with_header().raw({0x40, 0}).b, 12).error(), ParseError::BadLabelType);
  EXPECT_EQ(read_at(with_header().raw({0x80, 0}).b, 12).error(), ParseError::BadLabelType);
}

TEST(ReadName, RejectsTruncated) {
  EXPECT_EQ(read_at(with_header().raw({3, 'a', 'b'}).b, 12).error(), ParseError::Truncated);
  EXPECT_EQ(read_at(with_header().raw({1, 'a'}).b, 12).error(), ParseError::Truncated);
  EXPECT_EQ(read_at(with_header().raw({0xc0}).b, 12).error(), ParseError::Truncated);
  EXPECT_EQ(read_at(with_header().b, 12).error(), ParseError::Truncated);
}

TEST(ReadName, FailureFailsTheReader) {
  auto p = with_header().raw({0x40}).b;
  Reader r(p, 12);
  EXPECT_FALSE(read_name(r).has_value());
  EXPECT_FALSE(r.ok());
}

TEST(NameText, ParsesAndPrints) {
  auto n = Name::from_text("Use-Application-DNS.net.");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->labels(), 2U);
  EXPECT_EQ(n->to_text(), "Use-Application-DNS.net.");
  EXPECT_EQ(Name::from_text(".")->labels(), 0U);
  EXPECT_EQ(Name::from_text(".")->to_text(), ".");
  EXPECT_EQ(Name::from_text("a\\.b.c")->labels(), 2U);
  EXPECT_EQ(Name::from_text("a\\.b.c")->to_text(), "a\\.b.c.");
  EXPECT_EQ(Name::from_text("\\000x")->wire()[1], 0);
  EXPECT_EQ(Name::from_text("\\000x")->to_text(), "\\000x.");
}

TEST(NameText, RejectsBadText) {
  EXPECT_FALSE(Name::from_text("").has_value());
  EXPECT_FALSE(Name::from_text("a..b").has_value());
  EXPECT_FALSE(Name::from_text(std::string(64, 'a')).has_value());
  EXPECT_TRUE(Name::from_text(std::string(63, 'a')).has_value());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  EXPECT_FALSE(Name::from_text(long_name).has_value());
  EXPECT_FALSE(Name::from_text("a\\").has_value());
  EXPECT_FALSE(Name::from_text("a\\999").has_value());
}

// Regression (found by fuzz/name_text_fuzz and fuzz/read_name_fuzz): a label ending in a backslash
// prints as "a\\." and must read back; only an odd run of backslashes escapes the final dot.
TEST(NameText, LabelEndingInBackslashRoundTrips) {
  auto p = with_header().u8(2).u8('a').u8('\\').u8(0).b;
  const Name from_wire = Name::from_packet(p, read_at(p, 12).value());
  EXPECT_EQ(from_wire.to_text(), "a\\\\.");
  auto again = Name::from_text(from_wire.to_text());
  ASSERT_TRUE(again.has_value()) << again.error();
  EXPECT_TRUE(std::ranges::equal(again->wire(), from_wire.wire()));
  EXPECT_EQ(Name::from_text("a\\\\")->wire().size(), 4U);  // a\\ without the dot: same name
  EXPECT_EQ(Name::from_text("a\\.")->labels(), 1U);        // a\. : the label "a."
  EXPECT_EQ(Name::from_text("a\\.")->wire().size(), 4U);
  EXPECT_EQ(Name::from_text("a\\\\\\.")->to_text(), "a\\\\\\..");  // a\\\. : "a\."
}

TEST(NameCompare, EqualityIgnoresAsciiCase) {
  auto p = with_header().name("WwW.ExAmPlE.NeT").b;
  auto n = read_at(p, 12).value();
  EXPECT_TRUE(equals(p, n, Name::from_text("www.example.net").value()));
  EXPECT_FALSE(equals(p, n, Name::from_text("www.example.org").value()));
  EXPECT_FALSE(equals(p, n, Name::from_text("example.net").value()));
  EXPECT_EQ(Name::from_text("A.b").value(), Name::from_text("a.B.").value());
  EXPECT_FALSE(Name::from_text("ab").value() == Name::from_text("a.b").value());
}

TEST(NameCompare, EqualityAcrossPacketsFollowsPointers) {
  auto a = with_header().name("example.net").raw({3, 'w', 'w', 'w', 0xc0, 12}).b;
  auto b = with_header().name("WWW.example.NET").b;
  EXPECT_TRUE(equals(a, read_at(a, 25).value(), b, read_at(b, 12).value()));
  EXPECT_FALSE(equals(a, read_at(a, 12).value(), b, read_at(b, 12).value()));
}

TEST(NameCompare, SuffixMatchingIsLabelWise) {
  const Name canary = Name::from_text("use-application-dns.net").value();
  auto match = [&](std::string_view q) {
    auto p = with_header().name(q).b;
    return is_subdomain(p, read_at(p, 12).value(), canary);
  };
  EXPECT_TRUE(match("use-application-dns.net"));
  EXPECT_TRUE(match("USE-APPLICATION-DNS.NET"));
  EXPECT_TRUE(match("a.b.use-application-dns.net"));
  EXPECT_FALSE(match("evil-use-application-dns.net"));
  EXPECT_FALSE(match("use-application-dns.net.evil"));
  EXPECT_FALSE(match("net"));
  EXPECT_FALSE(match("application-dns.net"));
  auto root = with_header().u8(0).b;
  EXPECT_TRUE(is_subdomain(root, read_at(root, 12).value(), Name()));
  EXPECT_TRUE(match("anything.at.all") == false);
}

TEST(NameCompare, SuffixMatchingThroughPointers) {
  auto p = with_header().name("use-application-dns.net").raw({4, 'e', 'v', 'i', 'l', 0xc0, 12}).b;
  EXPECT_TRUE(is_subdomain(p, read_at(p, 37).value(), Name::from_text("use-application-dns.net").value()));
}

TEST(NameCopy, FromPacketDecompresses) {
  auto p = with_header().name("example.net").raw({3, 'w', 'w', 'w', 0xc0, 12}).b;
  const Name n = Name::from_packet(p, read_at(p, 25).value());
  EXPECT_EQ(n.to_text(), "www.example.net.");
  EXPECT_EQ(n.wire().size(), 17U);
}

}  // namespace
}  // namespace dnsfence::dns
