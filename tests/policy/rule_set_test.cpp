// The compiled policy: canaries, operator names, destinations, allowlist and classification.

#include "policy/rule_set.hpp"

#include <gtest/gtest.h>

#include "dns/testing_packets.hpp"

namespace dnsfence::policy {
namespace {

common::IpAddress ip(const char* text) {
  return common::IpAddress::parse(text).value();
}

common::Config config(std::string_view extra = "") {
  std::string text = "[serve]\nupstreams = [\"10.64.0.53\", \"fd00:64::53\"]\n";
  text += extra;
  return common::parse_config(text, "test.toml");
}

const NameRule* match(const RuleSet& rs, std::string_view name, std::uint16_t type = dns::rrtype::A) {
  static std::vector<std::uint8_t> packet;
  packet = dns::testing::query(name, type);
  auto m = dns::parse(packet);
  EXPECT_TRUE(m.has_value());
  return rs.match_name(*m);
}

TEST(RuleSet, DefaultCanaries) {
  auto rs = RuleSet::compile(config());
  const auto* doh = match(*rs, "use-application-dns.net");
  ASSERT_NE(doh, nullptr);
  EXPECT_EQ(doh->action, NameAction::NxDomain);
  EXPECT_EQ(match(*rs, "x.USE-application-dns.net", dns::rrtype::AAAA), doh);
  const auto* ddr = match(*rs, "_dns.resolver.arpa", dns::rrtype::SVCB);
  ASSERT_NE(ddr, nullptr);
  EXPECT_EQ(ddr->action, NameAction::NoData);
  EXPECT_EQ(match(*rs, "mask.icloud.com"), nullptr);  // off by default
  EXPECT_EQ(match(*rs, "evil-use-application-dns.net"), nullptr);
  EXPECT_EQ(match(*rs, "www.example"), nullptr);
}

TEST(RuleSet, CanariesCanBeTurnedOffAndOn) {
  auto rs = RuleSet::compile(config("[serve.canaries]\ndoh = false\nddr = false\nicloud_private_relay = true\n"));
  EXPECT_EQ(match(*rs, "use-application-dns.net"), nullptr);
  EXPECT_EQ(match(*rs, "_dns.resolver.arpa"), nullptr);
  ASSERT_NE(match(*rs, "mask.icloud.com"), nullptr);
  ASSERT_NE(match(*rs, "mask-h2.icloud.com"), nullptr);
  EXPECT_EQ(match(*rs, "icloud.com"), nullptr);
}

TEST(RuleSet, OperatorNamesWithEachAction) {
  auto rs = RuleSet::compile(config(R"(
[[serve.names]]
name = "tracker.example"
action = "refused"
[[serve.names]]
name = "gone.example"
action = "drop"
)"));
  ASSERT_NE(match(*rs, "a.tracker.example"), nullptr);
  EXPECT_EQ(match(*rs, "a.tracker.example")->action, NameAction::Refused);
  EXPECT_EQ(match(*rs, "gone.example")->action, NameAction::Drop);
  EXPECT_EQ(match(*rs, "gone.example")->label, "name:gone.example.");
  EXPECT_EQ(match(*rs, "gone.example")->describe(), "name:gone.example.: gone.example. -> drop");
}

TEST(RuleSet, DestinationsLongestPrefixThenAllowlist) {
  auto rs = RuleSet::compile(config(R"(
[[serve.destinations]]
prefixes = ["192.0.2.0/24"]
action = "refuse"
[[serve.destinations]]
prefixes = ["192.0.2.53"]
action = "pass"
[allowlist]
addresses = ["198.51.100.53", "2001:db8:53::53"]
)"));
  EXPECT_EQ(rs->route(ip("192.0.2.1")), Route::Refuse);
  EXPECT_EQ(rs->route(ip("192.0.2.53")), Route::Pass);
  EXPECT_EQ(rs->route(ip("198.51.100.53")), Route::Pass);
  EXPECT_EQ(rs->route(ip("2001:db8:53::53")), Route::Pass);
  EXPECT_EQ(rs->route(ip("203.0.113.9")), Route::Upstreams);
  EXPECT_EQ(rs->route(std::nullopt), Route::Upstreams);
}

TEST(RuleSet, ClassifiesDestinations) {
  auto rs = RuleSet::compile(config("[allowlist]\naddresses = [\"198.51.100.53\"]\n"));
  EXPECT_EQ(rs->classify(std::nullopt), DestinationClass::Unknown);
  EXPECT_EQ(rs->classify(ip("10.64.0.53")), DestinationClass::Provider);
  EXPECT_EQ(rs->classify(ip("fd00:64::53")), DestinationClass::Provider);
  EXPECT_EQ(rs->classify(ip("198.51.100.53")), DestinationClass::Allowlisted);
  for (const char* lan : {"192.168.1.1", "10.0.0.1", "172.16.5.5", "100.64.1.1", "169.254.1.1", "fd12::1", "fe80::1"})
    EXPECT_EQ(rs->classify(ip(lan)), DestinationClass::Private) << lan;
  for (const char* pub : {"203.0.113.9", "2001:db8::53", "172.32.0.1"})
    EXPECT_EQ(rs->classify(ip(pub)), DestinationClass::Public) << pub;
}

TEST(RuleSet, DescribesEveryRule) {
  auto rs = RuleSet::compile(config("[allowlist]\naddresses = [\"198.51.100.53\"]\n"));
  const auto lines = rs->describe();
  ASSERT_EQ(lines.size(), 4U);
  EXPECT_EQ(lines[0], "canary:doh: use-application-dns.net. -> nxdomain");
  EXPECT_EQ(lines[1], "canary:ddr: resolver.arpa. -> nodata");
  EXPECT_EQ(lines[2], "allowlist: 198.51.100.53/32 -> pass");
}

}  // namespace
}  // namespace dnsfence::policy
