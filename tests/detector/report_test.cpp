#include "detector/report.hpp"

#include <gtest/gtest.h>

#include "detector/classify.hpp"
#include "detector/facts_json.hpp"
#include "detector/testing_facts.hpp"

namespace dnsfence::detector {
namespace {

TEST(Report, TextExplainsEachFinding) {
  const Facts f = testing::load_facts("stealth.json");
  const std::string t = report_text(classify(f), f);
  EXPECT_TRUE(t.starts_with("dnsfence leaktest: STEALTH\n"));
  EXPECT_NE(t.find("[STEALTH] 198.51.100.53"), std::string::npos);
  EXPECT_NE(t.find("a Stealth DNS server"), std::string::npos);
  EXPECT_NE(t.find("wg0 udp 10.64.0.2:40001 -> 198.51.100.53:53 query s1.leak.example"), std::string::npos);
}

// `leaktest --witness` shows what a reporting VPN server saw (issue 16), in text and in the facts.
TEST(Report, ShowsTheVpnServersReports) {
  Facts f = testing::load_facts("stealth.json");
  if (!f.witness) f.witness = WitnessResults{};
  f.witness->reports.push_back(WitnessReport{*IpAddress::parse("100.64.53.53"),
                                             "private",
                                             "redirected",
                                             "vpn-1",
                                             "other",
                                             {"udp"},
                                             {"s1.leak.example", "s2.leak.example"}});
  const std::string t = report_text(classify(f), f);
  EXPECT_NE(t.find("reported by the VPN server (through the witness):\n  100.64.53.53 (private, udp): redirected "
                   "by vpn-1, 2 probe name(s)\n"),
            std::string::npos)
      << t;
  const Facts back = facts_from_json(facts_to_json(f));
  ASSERT_TRUE(back.witness);
  ASSERT_EQ(back.witness->reports.size(), 1U);
  EXPECT_EQ(back.witness->reports[0].reporter, "vpn-1");
}

TEST(Report, HtmlIsSelfContainedWithADiagramPerFinding) {
  const Facts f = testing::load_facts("type1.json");
  const Report r = classify(f);
  const std::string h = report_html(r, f);
  std::size_t svgs = 0;
  for (auto at = h.find("<svg"); at != std::string::npos; at = h.find("<svg", at + 1)) ++svgs;
  EXPECT_EQ(svgs, r.findings.size());
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("src="), std::string::npos);
  EXPECT_EQ(h.find("href="), std::string::npos);
  EXPECT_NE(h.find("local network (eth0)"), std::string::npos);
}

TEST(Report, DiffShowsOnlyChanges) {
  const Facts f = testing::load_facts("stealth.json");
  const Report a = classify(f);
  EXPECT_EQ(report_diff(a, a), "");
  const Report b = classify(testing::load_facts("type1.json"));
  const std::string d = report_diff(a, b);
  EXPECT_NE(d.find("overall: STEALTH -> LEAK-TYPE1"), std::string::npos);
  EXPECT_NE(d.find("+ [LEAK-TYPE1] 192.168.1.1"), std::string::npos);
  EXPECT_NE(d.find("- [STEALTH] 198.51.100.53"), std::string::npos);
}

}  // namespace
}  // namespace dnsfence::detector
