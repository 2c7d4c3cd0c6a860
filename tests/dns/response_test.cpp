#include "dns/response.hpp"

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <sstream>

#include "common/hex.hpp"

#include "dns/testing_packets.hpp"

namespace dnsfence::dns {
namespace {

using testing::PacketBytes;
using testing::query;

Soa test_soa() {
  Soa soa;
  soa.zone = Name::from_text("use-application-dns.net").value();
  soa.mname = Name::from_text("ns.use-application-dns.net").value();
  soa.rname = Name::from_text("hostmaster.dnsfence.invalid").value();
  soa.serial = 2026112801;
  soa.minimum = 300;
  soa.ttl = 300;
  return soa;
}

struct Built {
  std::array<std::uint8_t, 4096> buf{};
  std::size_t size = 0;
  Bytes bytes() const { return Bytes(buf.data(), size); }
  Message message() const { return parse(bytes()).value(); }
};

TEST(Response, NxdomainWithSoaKeepsQueryFieldsAndCompresses) {
  auto q = query("Www.Use-Application-DNS.net", rrtype::AAAA, 1232, true, 0xbeef);
  q[3] |= 0x10;  // CD
  const Message qm = parse(q).value();
  const Soa soa = test_soa();
  Built r;
  r.size = build_nxdomain(qm, &soa, Transport::Udp, r.buf).value();
  const Message m = r.message();
  EXPECT_EQ(m.header().id, 0xbeef);
  EXPECT_TRUE(m.header().has(flag::QR));
  EXPECT_TRUE(m.header().has(flag::RA));
  EXPECT_TRUE(m.header().has(flag::RD));
  EXPECT_TRUE(m.header().has(flag::CD));
  EXPECT_FALSE(m.header().has(flag::AA));
  EXPECT_FALSE(m.header().has(flag::TC));
  EXPECT_EQ(m.rcode(), static_cast<std::uint16_t>(Rcode::NxDomain));
  EXPECT_TRUE(equals(r.bytes(), m.question()->name, q, qm.question()->name));
  EXPECT_EQ(m.question()->qtype, rrtype::AAAA);
  EXPECT_EQ(m.header().ancount, 0);
  ASSERT_EQ(m.header().nscount, 1);
  const Record soa_rr = *m.records(Section::Authority).begin();
  EXPECT_EQ(soa_rr.type, rrtype::SOA);
  EXPECT_EQ(soa_rr.ttl, 300U);
  EXPECT_TRUE(equals(r.bytes(), soa_rr.owner, soa.zone));
  // The owner is a pointer into the qname, mname "ns" + a pointer: 2 + 10 + (4 + 2) + rname.
  EXPECT_EQ(r.bytes()[m.records(Section::Authority).begin()->owner.offset] & 0xc0, 0xc0);
  Reader rd(r.bytes(), soa_rr.rdata_offset);
  EXPECT_TRUE(equals(r.bytes(), read_name(rd).value(), soa.mname));
  EXPECT_TRUE(equals(r.bytes(), read_name(rd).value(), soa.rname));
  EXPECT_EQ(rd.u32(), 2026112801U);
  rd.skip(12);
  EXPECT_EQ(rd.u32(), 300U);
  EXPECT_EQ(rd.position(), soa_rr.rdata_offset + soa_rr.rdata_length);
  ASSERT_TRUE(m.edns().has_value());
  EXPECT_TRUE(m.edns()->do_bit);
  EXPECT_EQ(m.edns()->udp_size, kDefaultEdnsSize);
  EXPECT_EQ(m.header().arcount, 1);
}

TEST(Response, NodataWithAndWithoutSoa) {
  auto q = query("_dns.resolver.arpa", rrtype::SVCB);
  const Message qm = parse(q).value();
  Built r;
  r.size = build_nodata(qm, nullptr, Transport::Udp, r.buf).value();
  Message m = r.message();
  EXPECT_EQ(m.rcode(), 0);
  EXPECT_EQ(m.header().ancount + m.header().nscount + m.header().arcount, 0);
  EXPECT_FALSE(m.edns().has_value());  // no OPT in the query, none in the reply
  EXPECT_EQ(r.size, q.size());
  const Soa soa = test_soa();
  r.size = build_nodata(qm, &soa, Transport::Udp, r.buf).value();
  m = r.message();
  EXPECT_EQ(m.header().nscount, 1);
  EXPECT_EQ(m.rcode(), 0);
}

TEST(Response, EachErrorRcode) {
  auto q = query("example.net", rrtype::A, 4096);
  const Message qm = parse(q).value();
  for (Rcode rc : {Rcode::Refused, Rcode::ServFail, Rcode::FormErr, Rcode::NotImp, Rcode::NxDomain}) {
    Built r;
    r.size = build_response(qm, rc, nullptr, Transport::Udp, r.buf).value();
    const Message m = r.message();
    EXPECT_EQ(m.rcode(), static_cast<std::uint16_t>(rc));
    EXPECT_EQ(m.header().qdcount, 1);
    EXPECT_TRUE(m.edns().has_value());
  }
}

TEST(Response, BadVersUsesTheExtendedRcode) {
  PacketBytes p;
  p.header(9, 0x0100, 1, 0, 0, 1).name("a.test").u16(1).u16(1).opt(1232, 3, false);
  const GateResult g = gate(p.b);
  ASSERT_EQ(g.action, GateAction::BadVers);
  Built r;
  r.size = build_gate_reply(g, Transport::Udp, r.buf).value();
  const Message m = r.message();
  EXPECT_EQ(m.rcode(), 16);
  EXPECT_EQ(m.header().rcode(), 0);
  EXPECT_EQ(m.edns()->version, 0);
}

TEST(Response, GateRepliesForUnparseableQueriesAreHeaderOnly) {
  PacketBytes p;
  p.header(0x4242, 0x0110, 2).name("a.test").u16(1).u16(1).name("b.test").u16(1).u16(1);
  const GateResult g = gate(p.b);
  ASSERT_EQ(g.action, GateAction::FormErr);
  Built r;
  r.size = build_gate_reply(g, Transport::Udp, r.buf).value();
  ASSERT_EQ(r.size, kHeaderSize);
  const Message m = r.message();
  EXPECT_EQ(m.header().id, 0x4242);
  EXPECT_EQ(m.rcode(), static_cast<std::uint16_t>(Rcode::FormErr));
  EXPECT_TRUE(m.header().has(flag::RD));
  EXPECT_TRUE(m.header().has(flag::CD));
  EXPECT_TRUE(m.header().has(flag::QR));
}

TEST(Response, NotImpKeepsOpcodeAndQuestion) {
  auto q = query("example.net");
  q[2] = static_cast<std::uint8_t>((q[2] & 0x87) | (4 << 3));  // NOTIFY
  const GateResult g = gate(q);
  ASSERT_EQ(g.action, GateAction::NotImp);
  Built r;
  r.size = build_gate_reply(g, Transport::Udp, r.buf).value();
  const Message m = r.message();
  EXPECT_EQ(m.header().opcode(), 4);
  EXPECT_EQ(m.rcode(), static_cast<std::uint16_t>(Rcode::NotImp));
  EXPECT_EQ(m.header().qdcount, 1);
  EXPECT_EQ(build_gate_reply(gate(query("a.test")), Transport::Udp, r.buf).value(), 0U);
}

// A reply with many records exceeds 512 octets without EDNS: over UDP it is truncated to the
// question with TC set; over TCP it is complete; with a large EDNS size it fits.
TEST(Response, TruncatesToTheClientsUdpSize) {
  auto build = [](const std::vector<std::uint8_t>& q, Transport t, Built& r) {
    const Message qm = parse(q).value();
    ResponseBuilder b(qm, r.buf, t);
    const std::array<std::uint8_t, 4> addr{192, 0, 2, 1};
    for (int i = 0; i < 40; ++i) b.add_at_qname(Section::Answer, rrtype::A, 60, addr);  // 40 * 16 = 640
    r.size = b.finish().value();
    return r.message();
  };
  Built r;
  Message m = build(query("a.test"), Transport::Udp, r);
  EXPECT_TRUE(m.header().has(flag::TC));
  EXPECT_EQ(m.header().ancount, 0);
  EXPECT_LE(r.size, 512U);
  m = build(query("a.test"), Transport::Tcp, r);
  EXPECT_FALSE(m.header().has(flag::TC));
  EXPECT_EQ(m.header().ancount, 40);
  m = build(query("a.test", rrtype::A, 1232), Transport::Udp, r);
  EXPECT_FALSE(m.header().has(flag::TC));
  EXPECT_EQ(m.header().ancount, 40);
  m = build(query("a.test", rrtype::A, 600), Transport::Udp, r);  // 640 + OPT > 600
  EXPECT_TRUE(m.header().has(flag::TC));
  EXPECT_TRUE(m.edns().has_value());
  EXPECT_LE(r.size, 600U);
  m = build(query("a.test", rrtype::A, 100), Transport::Udp, r);  // sizes below 512 mean 512
  EXPECT_TRUE(m.header().has(flag::TC));
}

TEST(Response, TruncatesWhenTheBufferIsTooSmallAndFailsWhenNothingFits) {
  auto q = query("a.test");
  const Message qm = parse(q).value();
  std::array<std::uint8_t, 64> small{};
  ResponseBuilder b(qm, small, Transport::Tcp);
  const std::array<std::uint8_t, 4> addr{192, 0, 2, 1};
  for (int i = 0; i < 10; ++i) b.add_at_qname(Section::Answer, rrtype::A, 60, addr);
  const std::size_t n = b.finish().value();
  EXPECT_TRUE(parse(Bytes(small.data(), n))->header().has(flag::TC));
  std::array<std::uint8_t, 16> tiny{};
  EXPECT_EQ(build_nodata(qm, nullptr, Transport::Udp, tiny).error(), BuildError::BufferTooSmall);
  std::array<std::uint8_t, 11> shorter{};
  EXPECT_EQ(build_header_only(qm.header(), Rcode::FormErr, shorter).error(), BuildError::BufferTooSmall);
}

TEST(Response, SectionsMustBeAddedInOrder) {
  auto q = query("a.test");
  const Message qm = parse(q).value();
  Built r;
  ResponseBuilder b(qm, r.buf, Transport::Udp);
  b.add_soa(Section::Authority, test_soa());
  b.add_at_qname(Section::Answer, rrtype::A, 60, std::array<std::uint8_t, 4>{1, 2, 3, 4});
  EXPECT_EQ(b.finish().error(), BuildError::OutOfOrder);
}

TEST(Response, AnswersWithOwnerNamesAndAuthority) {
  auto q = query("probe.leak.test", rrtype::A);
  const Message qm = parse(q).value();
  Built r;
  ResponseBuilder b(qm, r.buf, Transport::Udp);
  b.set_flag(flag::AA, true);
  b.set_flag(flag::RA, false);
  b.add_at_qname(Section::Answer, rrtype::A, 60, std::array<std::uint8_t, 4>{198, 51, 100, 7});
  const Name ns = Name::from_text("ns1.leak.test").value();
  std::array<std::uint8_t, 32> nsdata{};
  std::copy(ns.wire().begin(), ns.wire().end(), nsdata.begin());
  b.add(Section::Authority, Name::from_text("leak.test").value(), rrtype::NS, 60,
        Bytes(nsdata.data(), ns.wire().size()));
  r.size = b.finish().value();
  const Message m = r.message();
  EXPECT_TRUE(m.header().has(flag::AA));
  EXPECT_FALSE(m.header().has(flag::RA));
  const Record a = *m.records(Section::Answer).begin();
  EXPECT_TRUE(equals(r.bytes(), a.owner, Name::from_text("probe.leak.test").value()));
  EXPECT_EQ(rdata(r.bytes(), a)[0], 198);
  const Record nsr = *m.records(Section::Authority).begin();
  EXPECT_TRUE(equals(r.bytes(), nsr.owner, Name::from_text("leak.test").value()));
  EXPECT_EQ(nsr.type, rrtype::NS);
}

// unbound's 77-octet answer with two A records and an OPT with DO (tests/data), cut for a UDP
// client that can take less.
TEST(Response, TruncateForUdpKeepsQuestionAndOptionallyTheOpt) {
  std::ifstream in(std::string(DNSFENCE_TEST_DATA) + "/response_a_edns_do.hex");
  std::stringstream text;
  text << in.rdbuf();
  const auto original = common::parse_hex(text.str()).value();
  ASSERT_EQ(original.size(), 77U);
  auto fits = original;
  EXPECT_EQ(truncate_for_udp(fits, 77, true), 77U);
  EXPECT_EQ(fits, original);

  for (const bool keep_opt : {true, false}) {
    auto cut = original;
    const std::size_t n = truncate_for_udp(cut, 60, keep_opt);
    ASSERT_GT(n, 0U);
    ASSERT_LE(n, 60U);
    const Message m = parse(Bytes(cut.data(), n)).value();
    EXPECT_EQ(m.header().id, 0xa830);
    EXPECT_TRUE(m.header().has(flag::TC));
    EXPECT_EQ(m.header().ancount, 0);
    ASSERT_TRUE(m.question().has_value());
    EXPECT_EQ(m.edns().has_value(), keep_opt);
    if (keep_opt) {
      EXPECT_TRUE(m.edns()->do_bit);
    }
  }
  std::array<std::uint8_t, 100> garbage{};
  garbage.fill(0xff);
  EXPECT_EQ(truncate_for_udp(garbage, 60, true), 0U);
}

}  // namespace
}  // namespace dnsfence::dns
