// The pipeline without sockets, as scenarios: "query NAME TYPE to DESTINATION -> expect ...".

#include "proxy/pipeline.hpp"

#include <gtest/gtest.h>

#include <array>

#include "dns/testing_packets.hpp"

namespace dnsfence::proxy {
namespace {

using dns::testing::PacketBytes;
using dns::testing::query;

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : rules_(policy::RuleSet::compile(common::parse_config(R"(
[serve]
upstreams = ["10.64.0.53"]
mode = "tproxy"
tproxy_listen = ["0.0.0.0:5300"]
[serve.canaries]
icloud_private_relay = true
[[serve.names]]
name = "blocked.example"
action = "refused"
[[serve.names]]
name = "silent.example"
action = "drop"
[[serve.destinations]]
prefixes = ["192.0.2.0/24"]
action = "refuse"
[allowlist]
addresses = ["198.51.100.53"]
)",
                                                             "test.toml"))),
        pipeline_(rules_.get()) {}

  Decision run(const std::vector<std::uint8_t>& packet, const char* destination = nullptr,
               dns::Transport transport = dns::Transport::Udp) {
    packet_ = packet;
    Query q{packet_, transport, std::nullopt};
    if (destination != nullptr) q.original_destination = common::IpAddress::parse(destination).value();
    reply_ = Reply{buffer_};
    return pipeline_.handle(q, reply_);
  }
  [[nodiscard]] std::uint16_t rcode() const {
    auto m = dns::parse(dns::Bytes(buffer_.data(), reply_.size));
    EXPECT_TRUE(m.has_value());
    return m ? m->rcode() : 0xffff;
  }

  std::shared_ptr<const policy::RuleSet> rules_;
  Pipeline pipeline_;
  std::vector<std::uint8_t> packet_;
  std::array<std::uint8_t, 4096> buffer_{};
  Reply reply_;
};

TEST_F(PipelineTest, OrdinaryQueryIsForwardedToUpstreams) {
  auto d = run(query("www.example"), "203.0.113.9");
  EXPECT_EQ(d.verdict, Verdict::Forward);
  EXPECT_EQ(d.action, Action::Forward);
  EXPECT_EQ(d.destination, policy::DestinationClass::Public);
  ASSERT_TRUE(d.message.has_value());
  EXPECT_EQ(reply_.size, 0U);
}

TEST_F(PipelineTest, RedirectModeHasNoDestination) {
  auto d = run(query("www.example"));
  EXPECT_EQ(d.verdict, Verdict::Forward);
  EXPECT_EQ(d.destination, policy::DestinationClass::Unknown);
}

TEST_F(PipelineTest, LanResolverIsCountedAsPrivateAndRedirected) {
  auto d = run(query("www.example"), "192.168.1.1");
  EXPECT_EQ(d.action, Action::Forward);
  EXPECT_EQ(d.destination, policy::DestinationClass::Private);
}

TEST_F(PipelineTest, DohCanaryIsNxdomainForEveryType) {
  for (std::uint16_t type : {dns::rrtype::A, dns::rrtype::AAAA, dns::rrtype::HTTPS, dns::rrtype::TXT}) {
    auto d = run(query("use-application-dns.net", type, 1232), "203.0.113.9");
    EXPECT_EQ(d.verdict, Verdict::AnswerLocal);
    EXPECT_EQ(d.action, Action::Local);
    ASSERT_NE(d.rule, nullptr);
    EXPECT_EQ(d.rule->kind, "canary:doh");
    EXPECT_EQ(rcode(), 3);
  }
}

TEST_F(PipelineTest, DdrIsNodata) {
  auto d = run(query("_dns.resolver.arpa", dns::rrtype::SVCB), "10.64.0.53");
  EXPECT_EQ(d.verdict, Verdict::AnswerLocal);
  EXPECT_EQ(d.destination, policy::DestinationClass::Provider);
  EXPECT_EQ(rcode(), 0);
  auto m = dns::parse(dns::Bytes(buffer_.data(), reply_.size));
  EXPECT_EQ(m->header().ancount, 0);
}

TEST_F(PipelineTest, PrivateRelayCanaryWhenEnabled) {
  EXPECT_EQ(run(query("mask-h2.icloud.com")).verdict, Verdict::AnswerLocal);
  EXPECT_EQ(rcode(), 3);
}

TEST_F(PipelineTest, OperatorNamesRefusedAndDropped) {
  EXPECT_EQ(run(query("x.blocked.example")).verdict, Verdict::AnswerLocal);
  EXPECT_EQ(rcode(), 5);
  auto d = run(query("silent.example"));
  EXPECT_EQ(d.verdict, Verdict::Drop);
  EXPECT_EQ(d.action, Action::Local);
}

TEST_F(PipelineTest, CanaryWinsOverPassDestination) {
  auto d = run(query("use-application-dns.net"), "198.51.100.53");
  EXPECT_EQ(d.verdict, Verdict::AnswerLocal);
  EXPECT_EQ(d.destination, policy::DestinationClass::Allowlisted);
}

TEST_F(PipelineTest, AllowlistedResolverIsPassed) {
  auto d = run(query("www.example"), "198.51.100.53");
  EXPECT_EQ(d.verdict, Verdict::Forward);
  EXPECT_EQ(d.action, Action::Pass);
  EXPECT_EQ(d.destination, policy::DestinationClass::Allowlisted);
}

TEST_F(PipelineTest, RefusedDestination) {
  auto d = run(query("www.example"), "192.0.2.7", dns::Transport::Tcp);
  EXPECT_EQ(d.verdict, Verdict::AnswerLocal);
  EXPECT_EQ(d.action, Action::Refuse);
  EXPECT_EQ(rcode(), 5);
}

TEST_F(PipelineTest, MalformedAndNonQueries) {
  EXPECT_EQ(run({1, 2, 3}).verdict, Verdict::Drop);
  EXPECT_EQ(run({1, 2, 3}).action, Action::NotQuery);
  auto response = query("www.example");
  response[2] |= 0x80;  // QR
  EXPECT_EQ(run(response).verdict, Verdict::Drop);
  PacketBytes two;
  two.header(7, 0x0100, 2).name("a.example").u16(1).u16(1).name("b.example").u16(1).u16(1);
  auto d = run(two.b);
  EXPECT_EQ(d.verdict, Verdict::AnswerLocal);
  EXPECT_EQ(d.action, Action::Invalid);
  EXPECT_EQ(rcode(), 1);
  auto notify = query("www.example");
  notify[2] = 0x20;  // opcode NOTIFY
  EXPECT_EQ(run(notify).action, Action::Invalid);
  EXPECT_EQ(rcode(), 4);
}

TEST_F(PipelineTest, SnapshotSwapChangesDecisions) {
  auto relaxed = policy::RuleSet::compile(
      common::parse_config("[serve]\nupstreams = [\"10.64.0.53\"]\n[serve.canaries]\ndoh = false\n", "new.toml"));
  pipeline_.set_rules(relaxed.get());
  EXPECT_EQ(run(query("use-application-dns.net")).verdict, Verdict::Forward);
}

TEST(BuildServfail, KeepsIdAndQuestion) {
  auto q = query("www.example", dns::rrtype::A, 0, false, 0xbeef);
  auto m = dns::parse(q);
  std::array<std::uint8_t, 512> out{};
  const std::size_t n = build_servfail(*m, dns::Transport::Udp, out);
  auto r = dns::parse(dns::Bytes(out.data(), n));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header().id, 0xbeef);
  EXPECT_EQ(r->rcode(), 2);
  EXPECT_EQ(r->header().qdcount, 1);
}

}  // namespace
}  // namespace dnsfence::proxy
