#include "witness/responder.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "dns/testing_packets.hpp"
#include "witness/fake_clock.hpp"
#include "witness/memory_store.hpp"
#include "witness/store_testing.hpp"

namespace dnsfence::witness {
namespace {

namespace rr = dns::rrtype;
using dns::testing::PacketBytes;
using dns::testing::query;

common::IpAddress ip(const char* text) {
  return common::IpAddress::parse(text).value();
}
dns::Name name(const char* text) {
  return dns::Name::from_text(text).value();
}

ZoneConfig zone_config() {
  ZoneConfig z;
  z.zone = name("witness.test");
  z.ns = {NsHost{name("ns1.witness.test"), {ip("192.0.2.53"), ip("2001:db8::53")}}};
  z.ns_v4 = {NsHost{name("ns4.witness.test"), {ip("192.0.2.54")}}};
  z.ns_v6 = {NsHost{name("ns6.witness.test"), {ip("2001:db8::54")}}};
  z.answer_a = {ip("192.0.2.80")};
  z.answer_aaaa = {ip("2001:db8::80")};
  z.soa_rname = name("hostmaster.witness.test");
  z.max_delay_ms = 2000;
  z.run_ttl = std::chrono::seconds(600);
  return z;
}

class ResponderTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  MemoryStore store_{StoreLimits{std::chrono::seconds(600), 10, 10}, clock_};
  Keyring keys_{Key{std::vector<std::uint8_t>(32, 9)}};
  ZoneConfig config_ = zone_config();
  Responder responder_{config_, keys_, store_, clock_};
  RunSnapshot run_ = testing::created(store_, clock_, std::chrono::seconds(600));
  Peer peer_{common::SocketAddress{ip("198.51.100.2"), 40000}, dns::Transport::Udp};
  std::vector<std::uint8_t> out_ = std::vector<std::uint8_t>(65535);
  Decision last_;

  static std::uint32_t expiry(const RunSnapshot& run) {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(run.expires.time_since_epoch()).count());
  }
  std::string probe(std::uint16_t n = 1, const RunSnapshot* run = nullptr, const char* zone = "witness.test") {
    const RunSnapshot& r = run ? *run : run_;
    return encode_token(keys_, Token{r.id, n, expiry(r)}) + "." + zone;
  }
  dns::Message ask(const std::vector<std::uint8_t>& q) {
    last_ = responder_.respond(q, peer_, out_);
    auto m = dns::parse(dns::Bytes(out_.data(), last_.reply_size));
    EXPECT_TRUE(m) << "no parsable reply";
    return *m;
  }
  dns::Message ask(const std::string& qname, std::uint16_t qtype) { return ask(query(qname, qtype)); }
  std::size_t resolvers() { return testing::get(store_, run_.key).value().resolvers.size(); }
};

// The RDATA of each record of a section, with its type.
std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> section(const dns::Message& m, dns::Section s) {
  std::vector<std::pair<std::uint16_t, std::vector<std::uint8_t>>> out;
  for (const auto& r : m.records(s)) {
    const dns::Bytes d = dns::rdata(m.packet(), r);
    out.emplace_back(r.type, std::vector<std::uint8_t>(d.begin(), d.end()));
  }
  return out;
}

std::vector<std::string> txt_strings(const dns::Message& m) {
  std::vector<std::string> out;
  for (const auto& [type, d] : section(m, dns::Section::Answer)) {
    for (std::size_t at = 0; type == rr::TXT && at < d.size(); at += 1 + d[at])
      out.emplace_back(reinterpret_cast<const char*>(&d[at + 1]), d[at]);
  }
  return out;
}

void expect_negative(const dns::Message& m, dns::Rcode rcode) {
  EXPECT_EQ(m.rcode(), static_cast<std::uint16_t>(rcode));
  EXPECT_TRUE(m.header().has(dns::flag::AA));
  EXPECT_FALSE(m.header().has(dns::flag::RA));
  EXPECT_EQ(m.header().ancount, 0);
  auto auth = section(m, dns::Section::Authority);
  ASSERT_EQ(auth.size(), 1U);
  EXPECT_EQ(auth[0].first, rr::SOA);
  for (const auto& r : m.records(dns::Section::Authority))
    EXPECT_TRUE(dns::equals(m.packet(), r.owner, name("witness.test")));
}

TEST_F(ResponderTest, ApexSoaAndNsWithGlue) {
  auto soa = ask("witness.test", rr::SOA);
  EXPECT_EQ(last_.outcome, Outcome::Answer);
  EXPECT_TRUE(soa.header().has(dns::flag::AA));
  ASSERT_EQ(section(soa, dns::Section::Answer).size(), 1U);
  auto ns = ask("WITNESS.test", rr::NS);
  ASSERT_EQ(section(ns, dns::Section::Answer).size(), 1U);
  EXPECT_EQ(section(ns, dns::Section::Additional).size(), 2U);  // A and AAAA of ns1
}

TEST_F(ResponderTest, NodataAndNxdomainCarryTheSoa) {
  expect_negative(ask("witness.test", rr::A), dns::Rcode::NoError);
  EXPECT_EQ(last_.outcome, Outcome::NoData);
  expect_negative(ask("nothing.witness.test", rr::A), dns::Rcode::NxDomain);
  EXPECT_EQ(last_.outcome, Outcome::NxDomain);
  expect_negative(ask("a.b.c.witness.test", rr::TXT), dns::Rcode::NxDomain);
  expect_negative(ask("ns1.witness.test", rr::TXT), dns::Rcode::NoError);
}

TEST_F(ResponderTest, OutsideTheZoneIsRefused) {
  auto m = ask("example.org", rr::A);
  EXPECT_EQ(m.rcode(), static_cast<std::uint16_t>(dns::Rcode::Refused));
  EXPECT_EQ(last_.outcome, Outcome::Refused);
  ask("evilwitness.test", rr::A);
  EXPECT_EQ(last_.outcome, Outcome::Refused);
}

TEST_F(ResponderTest, NameServerAddresses) {
  auto m = ask("ns1.witness.test", rr::AAAA);
  auto an = section(m, dns::Section::Answer);
  ASSERT_EQ(an.size(), 1U);
  const common::IpAddress expected = ip("2001:db8::53");
  EXPECT_EQ(an[0].second, std::vector<std::uint8_t>(expected.bytes().begin(), expected.bytes().end()));
}

TEST_F(ResponderTest, ProbeAnswersAndRecordsTheResolver) {
  auto m = ask(probe(), rr::A);
  EXPECT_EQ(last_.outcome, Outcome::Answer);
  EXPECT_TRUE(last_.recorded);
  EXPECT_TRUE(m.header().has(dns::flag::AA));
  auto an = section(m, dns::Section::Answer);
  ASSERT_EQ(an.size(), 1U);
  EXPECT_EQ(an[0].second, (std::vector<std::uint8_t>{192, 0, 2, 80}));
  const RunSnapshot snap = testing::get(store_, run_.key).value();
  ASSERT_EQ(snap.resolvers.size(), 1U);
  EXPECT_EQ(snap.resolvers[0].address, ip("198.51.100.2"));
}

TEST_F(ResponderTest, TxtEvidenceWithoutEdns) {
  peer_.transport = dns::Transport::Tcp;
  auto m = ask(probe(4), rr::TXT);
  EXPECT_EQ(txt_strings(m),
            (std::vector<std::string>{"resolver=198.51.100.2", "port=40000", "transport=tcp", "edns=none", "do=0",
                                      "ecs=none", "run=" + run_.id.to_text(), "probe=4"}));
}

TEST_F(ResponderTest, TxtEvidenceCarriesEdnsDoAndEcs) {
  PacketBytes p;
  p.header(7, 0x0100, 1, 0, 0, 1).name(probe()).u16(rr::TXT).u16(dns::rrclass::IN);
  // ECS option: family 1, source /24, scope 0, 10.1.2.
  p.opt(1400, 0, true, {0, 8, 0, 7, 0, 1, 24, 0, 10, 1, 2});
  peer_.endpoint = common::SocketAddress{ip("2001:db8::2"), 5353};
  auto strings = txt_strings(ask(p.b));
  ASSERT_EQ(strings.size(), 8U);
  EXPECT_EQ(strings[0], "resolver=2001:db8::2");
  EXPECT_EQ(strings[3], "edns=1400");
  EXPECT_EQ(strings[4], "do=1");
  EXPECT_EQ(strings[5], "ecs=10.1.2.0/24");
}

TEST_F(ResponderTest, MalformedEcsIsReportedNotTrusted) {
  PacketBytes p;
  p.header(7, 0x0100, 1, 0, 0, 1).name(probe()).u16(rr::TXT).u16(dns::rrclass::IN);
  p.opt(1232, 0, false, {0, 8, 0, 5, 0, 1, 24, 0, 10});  // /24 needs 3 address octets
  EXPECT_EQ(txt_strings(ask(p.b))[5], "ecs=malformed");
}

TEST_F(ResponderTest, ForgedTokenIsRefusedAndNeverRecorded) {
  const std::string forged =
      encode_token(Keyring(Key(std::vector<std::uint8_t>(32, 1))), Token{run_.id, 1, expiry(run_)}) + ".witness.test";
  expect_negative(ask(forged, rr::A), dns::Rcode::NxDomain);
  EXPECT_EQ(last_.outcome, Outcome::Forged);
  EXPECT_FALSE(last_.recorded);
  EXPECT_EQ(resolvers(), 0U);
}

TEST_F(ResponderTest, ReplayForAnExpiredRunIsRefused) {
  const std::string name = probe();
  clock_.advance(std::chrono::seconds(600));
  expect_negative(ask(name, rr::A), dns::Rcode::NxDomain);
  EXPECT_EQ(last_.outcome, Outcome::UnknownRun);
  EXPECT_FALSE(last_.recorded);
  // Authentic and unexpired, but a run this (memory) store never held: an earlier process's.
  const RunSnapshot other = testing::fresh_run(clock_, std::chrono::seconds(600));
  ask(probe(1, &other), rr::A);
  EXPECT_EQ(last_.outcome, Outcome::UnknownRun);
}

// The expiry is decided from the token: no store is asked about a token whose run has expired or
// that claims to live longer than any run does.
TEST_F(ResponderTest, ExpiryIsDecidedFromTheTokenAlone) {
  RunSnapshot forever = run_;
  forever.expires = run_.created + std::chrono::seconds(600 + 301);
  expect_negative(ask(probe(1, &forever), rr::A), dns::Rcode::NxDomain);
  EXPECT_EQ(last_.outcome, Outcome::UnknownRun);
  EXPECT_EQ(resolvers(), 0U);
  RunSnapshot stale = run_;
  stale.expires = clock_.now();
  ask(probe(1, &stale), rr::A);
  EXPECT_EQ(last_.outcome, Outcome::UnknownRun);
  EXPECT_EQ(resolvers(), 0U);
}

TEST_F(ResponderTest, NoReplyRecordsButNeverAnswers) {
  last_ = responder_.respond(query("noreply." + probe(), rr::A), peer_, out_);
  EXPECT_EQ(last_.outcome, Outcome::NoReply);
  EXPECT_EQ(last_.reply_size, 0U);
  EXPECT_TRUE(last_.recorded);
  EXPECT_EQ(resolvers(), 1U);
}

TEST_F(ResponderTest, ServfailAndDelayLabels) {
  auto m = ask("ServFail." + probe(), rr::A);
  EXPECT_EQ(m.rcode(), static_cast<std::uint16_t>(dns::Rcode::ServFail));
  EXPECT_EQ(last_.outcome, Outcome::ServFail);
  EXPECT_TRUE(last_.recorded);
  ask("delay-250." + probe(), rr::A);
  EXPECT_EQ(last_.outcome, Outcome::Answer);
  EXPECT_EQ(last_.delay_ms, 250U);
  ask("delay-99999." + probe(), rr::A);
  EXPECT_EQ(last_.delay_ms, 2000U);  // bounded by max_delay_ms
  expect_negative(ask("other." + probe(), rr::A), dns::Rcode::NxDomain);
  EXPECT_FALSE(last_.recorded);
}

TEST_F(ResponderTest, ChildZoneOfTheOtherFamilyGetsAReferral) {
  const std::string v6probe = probe(2, nullptr, "v6.witness.test");
  auto m = ask(v6probe, rr::A);  // asked over IPv4
  EXPECT_EQ(last_.outcome, Outcome::Referral);
  EXPECT_FALSE(m.header().has(dns::flag::AA));
  auto auth = section(m, dns::Section::Authority);
  ASSERT_EQ(auth.size(), 1U);
  EXPECT_EQ(auth[0].first, rr::NS);
  auto glue = section(m, dns::Section::Additional);
  ASSERT_EQ(glue.size(), 1U);
  EXPECT_EQ(glue[0].first, rr::AAAA);
  EXPECT_EQ(resolvers(), 0U);
  peer_.endpoint = common::SocketAddress{ip("2001:db8::2"), 5353};
  ask(v6probe, rr::A);
  EXPECT_EQ(last_.outcome, Outcome::Answer);
  EXPECT_TRUE(last_.recorded);
  auto soa = ask("v6.witness.test", rr::SOA);
  EXPECT_EQ(section(soa, dns::Section::Answer).size(), 1U);
}

TEST_F(ResponderTest, GateOutcomes) {
  std::vector<std::uint8_t> response = query("witness.test", rr::SOA);
  response[2] |= 0x80;  // QR: a response, never answered
  last_ = responder_.respond(response, peer_, out_);
  EXPECT_EQ(last_.outcome, Outcome::Dropped);
  EXPECT_EQ(last_.reply_size, 0U);
  std::vector<std::uint8_t> notify = query("witness.test", rr::SOA);
  notify[2] |= 0x20;  // opcode 4
  ask(notify);
  EXPECT_EQ(last_.outcome, Outcome::NotImp);
}

}  // namespace
}  // namespace dnsfence::witness
