// Which probe report batches the witness believes (a configured reporter, its key, its sources,
// a fresh batch) and which reports inside them it keeps (authentic probe names of its zone only).
#include "witness/reports.hpp"

#include <gtest/gtest.h>

namespace dnsfence::witness {
namespace {

constexpr std::int64_t kNow = 1767268800000;
constexpr std::uint32_t kExpires = 1767272400;

class ReportsTest : public ::testing::Test {
 protected:
  ReportsTest() : keys_(Key(std::vector<std::uint8_t>(32, 7))), zone_(*dns::Name::from_text("leak.test")) {
    reporters_.push_back({"vpn-1", std::vector<std::uint8_t>(32, 1), {}});
    reporters_.push_back({"vpn-2", std::vector<std::uint8_t>(32, 2), {*common::Prefix::parse("192.0.2.0/28")}});
    run_ = RunKey::random().id();
  }
  std::string name(std::uint16_t probe, std::string_view prefix = "", std::string_view suffix = ".leak.test") const {
    return std::string(prefix) + encode_token(keys_, Token{run_, probe, kExpires}) + std::string(suffix);
  }
  std::string body(const std::vector<std::string>& names, std::string_view reporter = "vpn-1",
                   std::int64_t sent = kNow) const {
    common::ReportBatch b{std::string(reporter), sent, {}};
    for (const auto& n : names)
      b.reports.push_back({n, *common::IpAddress::parse("100.64.53.53"), "private", "udp", "redirected", sent});
    return common::encode_batch(b);
  }
  std::string query(std::string_view reporter, const std::string& text, std::uint8_t key_byte) const {
    const std::string path = common::report_path(reporter, std::vector<std::uint8_t>(32, key_byte), text);
    return path.substr(path.find('?') + 1);
  }
  auto accept(const std::string& q, const std::string& b, const char* peer = "203.0.113.7", std::int64_t now = kNow) {
    return accept_batch(reporters_, keys_, zone_, q, b, *common::IpAddress::parse(peer), now);
  }

  Keyring keys_;
  dns::Name zone_;
  RunId run_;
  std::vector<ReporterConfig> reporters_;
};

TEST_F(ReportsTest, KeepsAuthenticProbeNamesOfTheZoneOnly) {
  const std::string forged = "abcdefghijklmnopqrstuvwxyz234567abcdefgh.leak.test";
  const std::string b = body({name(1), name(2, "delay-600."), name(3, "", ".v4.leak.test"), name(4, "NoReply."),
                              "www.example", forged, "leak.test", name(5, "a.b."), name(6, "", ".other.test")});
  auto r = accept(query("vpn-1", b, 1), b);
  ASSERT_TRUE(r) << describe(r.error());
  ASSERT_EQ(r->accepted.size(), 4U);
  EXPECT_EQ(r->dropped, 5U);
  EXPECT_EQ(r->accepted[0].token.run, run_);
  EXPECT_EQ(r->accepted[0].token.probe, 1);
  EXPECT_EQ(r->accepted[1].token.probe, 2);
  EXPECT_EQ(r->accepted[2].token.probe, 3);
  EXPECT_EQ(r->accepted[3].token.probe, 4);
  EXPECT_EQ(r->accepted[0].reporter, "vpn-1");
  EXPECT_EQ(r->accepted[0].report.destination.to_string(), "100.64.53.53");
}

TEST_F(ReportsTest, RefusesWhoIsNotAConfiguredReporterWithItsKey) {
  const std::string b = body({name(1)});
  EXPECT_EQ(accept(query("vpn-9", b, 1), b).error(), BatchError::UnknownReporter);
  EXPECT_EQ(accept(query("vpn-1", b, 2), b).error(), BatchError::BadMac) << "another reporter's key";
  std::string altered = b;
  altered[altered.find("100.64.53.53")] = '9';
  EXPECT_EQ(accept(query("vpn-1", b, 1), altered).error(), BatchError::BadMac);
  EXPECT_EQ(accept("reporter=vpn-1", b).error(), BatchError::Malformed);
  EXPECT_EQ(accept("", b).error(), BatchError::Malformed);
  // Signed by vpn-1's key but claiming to be vpn-2 inside: refused.
  const std::string lying = body({name(1)}, "vpn-2");
  EXPECT_EQ(accept(query("vpn-1", lying, 1), lying).error(), BatchError::Malformed);
}

TEST_F(ReportsTest, ARestrictedReporterOnlyFromItsSources) {
  const std::string b = body({name(1)}, "vpn-2");
  EXPECT_EQ(accept(query("vpn-2", b, 2), b, "203.0.113.7").error(), BatchError::WrongSource);
  EXPECT_TRUE(accept(query("vpn-2", b, 2), b, "192.0.2.2"));
}

TEST_F(ReportsTest, RefusesStaleBatches) {
  const std::string old = body({name(1)}, "vpn-1", kNow - 301'000);
  EXPECT_EQ(accept(query("vpn-1", old, 1), old).error(), BatchError::Stale);
  const std::string ahead = body({name(1)}, "vpn-1", kNow + 301'000);
  EXPECT_EQ(accept(query("vpn-1", ahead, 1), ahead).error(), BatchError::Stale);
  const std::string recent = body({name(1)}, "vpn-1", kNow - 299'000);
  EXPECT_TRUE(accept(query("vpn-1", recent, 1), recent));
}

TEST_F(ReportsTest, GarbageNeverCrashes) {
  for (const std::string& b : {std::string(), std::string("{"), std::string("null"), std::string(70000, 'x')}) {
    auto r = accept(query("vpn-1", b, 1), b);
    EXPECT_FALSE(r);
  }
}

}  // namespace
}  // namespace dnsfence::witness

#include "witness/roles.hpp"

namespace dnsfence::witness {
namespace {

TEST(Roles, TheLongestDeclaredPrefixNamesTheRole) {
  const std::vector<ResolverRole> roles = {
      {"Example VPN", {*common::Prefix::parse("192.0.2.0/28"), *common::Prefix::parse("10.64.0.0/24")}},
      {"Example VPN (Paris)", {*common::Prefix::parse("192.0.2.2/32"), *common::Prefix::parse("2001:db8:2::/48")}},
  };
  EXPECT_EQ(role_of(roles, *common::IpAddress::parse("192.0.2.2"))->name, "Example VPN (Paris)");
  EXPECT_EQ(role_of(roles, *common::IpAddress::parse("192.0.2.3"))->name, "Example VPN");
  EXPECT_EQ(role_of(roles, *common::IpAddress::parse("10.64.0.53"))->name, "Example VPN");
  EXPECT_EQ(role_of(roles, *common::IpAddress::parse("2001:db8:2::2"))->name, "Example VPN (Paris)");
  EXPECT_EQ(role_of(roles, *common::IpAddress::parse("203.0.113.53")), nullptr) << "not the VPN's: a leak";
  EXPECT_EQ(role_of({}, *common::IpAddress::parse("192.0.2.2")), nullptr);
}

}  // namespace
}  // namespace dnsfence::witness
