// The compiled policy: canaries, operator names, destinations, allowlist and classification.

#include "policy/rule_set.hpp"

#include <gtest/gtest.h>

#include <set>

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
  EXPECT_EQ(rs->label(*match(*rs, "gone.example")), "name:gone.example.");
  EXPECT_EQ(rs->describe(*match(*rs, "gone.example")), "name:gone.example.: gone.example. -> drop");
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

TEST(RuleSet, FirstMatchInFileOrderWhateverTheSuffix) {
  auto rs = RuleSet::compile(config(R"(
[[serve.names]]
name = "a.example"
action = "refused"
[[serve.names]]
name = "example"
action = "nodata"
[[serve.names]]
name = "b.example"
action = "drop"
)"));
  EXPECT_EQ(match(*rs, "x.a.example")->action, NameAction::Refused);  // more specific, listed first
  EXPECT_EQ(match(*rs, "x.b.example")->action, NameAction::NoData);   // "example" is listed before it
  EXPECT_EQ(match(*rs, "EXAMPLE")->action, NameAction::NoData);
  EXPECT_EQ(match(*rs, "example.net"), nullptr);
  EXPECT_EQ(match(*rs, "xexample"), nullptr);
  EXPECT_EQ(match(*rs, "a.examplex"), nullptr);
}

TEST(RuleSet, EscapedAndRootNames) {
  auto rs = RuleSet::compile(config(R"(
[[serve.names]]
name = 'dot\.inside.example'
[[serve.names]]
name = "."
action = "refused"
)"));
  EXPECT_EQ(match(*rs, "www.example")->action, NameAction::Refused);  // the root contains every name
  const auto* dot = match(*rs, "x.dot\\.inside.example");
  ASSERT_NE(dot, nullptr);
  EXPECT_EQ(rs->suffix(*dot), "dot\\.inside.example.");
  EXPECT_EQ(match(*rs, "x.dot.inside.example")->action, NameAction::Refused);  // not the escaped one
}

TEST(RuleSet, OneHundredThousandNames) {
  common::Config c = config();
  for (int i = 0; i < 100000; ++i)
    c.serve.names.push_back(
        {*dns::Name::from_text("blocked" + std::to_string(i) + ".example"), common::NameAction::Refused});
  auto rs = RuleSet::compile(c);
  ASSERT_EQ(rs->name_rules().size(), 100002U);  // and the two default canaries
  for (int i : {0, 1, 4242, 99999}) {
    const auto* r = match(*rs, "www.blocked" + std::to_string(i) + ".example");
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(rs->suffix(*r), "blocked" + std::to_string(i) + ".example.");
  }
  EXPECT_EQ(match(*rs, "blocked100000.example"), nullptr);
  EXPECT_EQ(match(*rs, "example"), nullptr);
}

// The hash table answers exactly what the linear scan it replaced answered: the first rule, in
// configuration order, whose name contains the query name (names from a small alphabet, so that
// they nest and repeat, in mixed case).
TEST(RuleSet, SameAnswersAsTheLinearScan) {
  std::uint64_t seed = 0x9e3779b97f4a7c15ULL;
  auto next = [&seed](std::uint64_t n) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed % n;
  };
  auto random_name = [&](std::size_t min_labels, std::size_t max_labels) {
    static const char* labels[] = {"a", "B", "c", "ab", "Ab", "example", "x-y"};
    std::string name;
    const std::size_t n = min_labels + next(max_labels - min_labels + 1);
    for (std::size_t i = 0; i < n; ++i) name += std::string(i ? "." : "") + labels[next(7)];
    return name;
  };
  common::Config c = config();
  for (int i = 0; i < 60; ++i) {
    const auto action = static_cast<common::NameAction>(next(4));
    c.serve.names.push_back({*dns::Name::from_text(random_name(2, 3)), action});
  }
  auto rs = RuleSet::compile(c);
  int matched = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string q = random_name(1, 5);
    const auto* got = match(*rs, q);
    static std::vector<std::uint8_t> packet;
    packet = dns::testing::query(q, dns::rrtype::A);
    const auto m = dns::parse(packet);
    const NameRule* want = nullptr;
    for (const auto& r : rs->name_rules()) {
      if (dns::is_subdomain(m->packet(), m->question()->name, *dns::Name::from_text(rs->suffix(r)))) {
        want = &r;
        break;
      }
    }
    ASSERT_EQ(got, want) << q;
    matched += want != nullptr;
  }
  EXPECT_GT(matched, 200);  // both outcomes were exercised
  EXPECT_LT(matched, 1800);
}

// A counter belongs to a rule's identity (kind, name, action), not to its position: a reload that
// inserts a rule before others, or reorders them, never moves counts from one rule to another.
TEST(CounterSlots, ARuleKeepsItsCounterWhenOthersAreInsertedBeforeIt) {
  CounterSlots slots(64);
  auto before = RuleSet::compile(config("[[serve.names]]\nname = \"old.example\"\n"), &slots);
  const auto* old_rule = match(*before, "old.example");
  ASSERT_NE(old_rule, nullptr);
  const auto old_index = old_rule->index;
  auto after = RuleSet::compile(config(R"(
[serve.canaries]
icloud_private_relay = true
[[serve.names]]
name = "new.example"
[[serve.names]]
name = "OLD.example"
)"),
                                &slots);
  EXPECT_EQ(match(*after, "old.example")->index, old_index);
  EXPECT_NE(match(*after, "old.example")->position, old_rule->position);
  EXPECT_EQ(match(*after, "use-application-dns.net")->index, match(*before, "use-application-dns.net")->index);
  std::set<std::uint32_t> indices;
  for (const auto& r : after->name_rules()) indices.insert(r.index);
  EXPECT_EQ(indices.size(), after->name_rules().size());  // every rule its own counter
  // Another action is another rule.
  auto changed = RuleSet::compile(config("[[serve.names]]\nname = \"old.example\"\naction = \"drop\"\n"), &slots);
  EXPECT_NE(match(*changed, "old.example")->index, old_index);
}

TEST(CounterSlots, IdentitiesPastTheCapacityShareTheLast) {
  CounterSlots slots(4);
  EXPECT_EQ(slots.slot("a"), 0U);
  EXPECT_EQ(slots.slot("b"), 1U);
  EXPECT_EQ(slots.slot("c"), 2U);
  EXPECT_EQ(slots.slot("d"), 3U);
  EXPECT_EQ(slots.slot("e"), 3U);
  EXPECT_EQ(slots.overflow(), 3U);
  EXPECT_EQ(slots.slot("a"), 0U);
}

}  // namespace
}  // namespace dnsfence::policy
