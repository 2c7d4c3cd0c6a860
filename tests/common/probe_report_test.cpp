// The serve -> witness probe report contract: JSON round trip, strict decoding, HMAC signing.
#include "common/probe_report.hpp"

#include <gtest/gtest.h>

namespace dnsfence::common {
namespace {

const std::vector<std::uint8_t> kKey(32, 0x5a);

ReportBatch sample() {
  ReportBatch b;
  b.reporter = "vpn-1";
  b.sent_unix_ms = 1767268800123;
  b.reports.push_back({"abcdefghijklmnopqrstuvwxyz234567.leak.test", *IpAddress::parse("203.0.113.53"), "public", "udp",
                       "redirected", 1767268800000});
  b.reports.push_back({"delay-600.abcdefghijklmnopqrstuvwxyz234567.leak.test", *IpAddress::parse("2001:db8::53"),
                       "private", "tcp", "passed", 1767268800001});
  return b;
}

TEST(ProbeReport, RoundTrips) {
  const ReportBatch b = sample();
  auto back = decode_batch(encode_batch(b));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->reporter, "vpn-1");
  EXPECT_EQ(back->sent_unix_ms, b.sent_unix_ms);
  ASSERT_EQ(back->reports.size(), 2U);
  EXPECT_EQ(back->reports[0].name, b.reports[0].name);
  EXPECT_EQ(back->reports[0].destination, b.reports[0].destination);
  EXPECT_EQ(back->reports[1].destination.to_string(), "2001:db8::53");
  EXPECT_EQ(back->reports[1].transport, "tcp");
  EXPECT_EQ(back->reports[1].action, "passed");
  EXPECT_EQ(back->reports[1].unix_ms, 1767268800001);
}

TEST(ProbeReport, RefusesWhatIsNotAWellFormedBatch) {
  const std::string good = encode_batch(sample());
  auto replaced = [&](std::string_view from, std::string_view to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  for (const std::string& bad :
       {std::string("not json"), std::string("[]"), std::string("{}"), replaced("\"public\"", "\"everywhere\""),
        replaced("\"udp\"", "\"quic\""), replaced("\"redirected\"", "\"ignored\""),
        replaced("203.0.113.53", "203.0.113.999"), replaced("\"vpn-1\"", "\"vpn 1\""), replaced("\"vpn-1\"", "\"\""),
        replaced("1767268800123", "\"yesterday\""), replaced("\"reports\":[", "\"reports\":{\"x\":[")}) {
    EXPECT_FALSE(decode_batch(bad)) << bad;
  }
}

TEST(ProbeReport, RefusesOversizeBatches) {
  ReportBatch b = sample();
  b.reports.resize(kMaxReportsPerBatch + 1, b.reports[0]);
  EXPECT_FALSE(decode_batch(encode_batch(b)));
  b.reports.resize(kMaxReportsPerBatch);
  EXPECT_TRUE(decode_batch(encode_batch(b)));
  EXPECT_FALSE(decode_batch(std::string(kMaxReportBody + 1, ' ')));
}

TEST(ProbeReport, MacSignsExactlyTheBody) {
  const std::string body = encode_batch(sample());
  const std::string path = report_path("vpn-1", kKey, body);
  ASSERT_TRUE(path.starts_with("/reports?reporter=vpn-1&mac="));
  const std::string mac = path.substr(path.find("mac=") + 4);
  EXPECT_EQ(mac.size(), 64U);
  EXPECT_TRUE(report_mac_valid(kKey, body, mac));
  std::string altered = body;
  altered[altered.find("203.0.113.53")] = '1';
  EXPECT_FALSE(report_mac_valid(kKey, altered, mac));
  EXPECT_FALSE(report_mac_valid(std::vector<std::uint8_t>(32, 0x5b), body, mac));
  std::string flipped = mac;
  flipped[0] = flipped[0] == '0' ? '1' : '0';
  EXPECT_FALSE(report_mac_valid(kKey, body, flipped));
  EXPECT_FALSE(report_mac_valid(kKey, body, mac.substr(2)));
  EXPECT_FALSE(report_mac_valid(kKey, body, std::string(64, 'z')));
  EXPECT_FALSE(report_mac_valid(kKey, body, ""));
}

TEST(ProbeReport, HmacMatchesRfc4231) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  const std::vector<std::uint8_t> key = {'J', 'e', 'f', 'e'};
  const auto mac = hmac_sha256(key, "what do ya want for nothing?");
  const std::vector<std::uint8_t> want = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                          0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                          0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  EXPECT_EQ(mac, want);
}

TEST(ProbeReport, ReporterNames) {
  EXPECT_TRUE(valid_reporter_name("vpn-1.example_fr"));
  EXPECT_FALSE(valid_reporter_name(""));
  EXPECT_FALSE(valid_reporter_name("a&mac=00"));
  EXPECT_FALSE(valid_reporter_name(std::string(65, 'a')));
}

}  // namespace
}  // namespace dnsfence::common
