#include "witness/config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dnsfence::witness {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "w.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, ParsesAFullWitnessTable) {
  const WitnessConfig c = parse_config(R"(
[witness]
zone = "witness.test"
listen = ["192.0.2.53", "[2001:db8::53]:5353"]
api = "127.0.0.1:9000"
key = "000102030405060708090a0b0c0d0e0f"
answer_a = ["192.0.2.80"]
run_ttl = 120
max_runs = 5
max_resolvers_per_run = 3
[[witness.ns]]
name = "ns1.witness.test"
addresses = ["192.0.2.53"]
[[witness.ns_v6]]
name = "ns6.witness.test"
addresses = ["2001:db8::54"]
)",
                                       "w.toml");
  EXPECT_EQ(c.zone.zone.to_text(), "witness.test.");
  ASSERT_EQ(c.listen.size(), 2U);
  EXPECT_EQ(c.listen[0].port(), 53);
  EXPECT_EQ(c.listen[1].to_string(), "[2001:db8::53]:5353");
  EXPECT_EQ(c.api.to_string(), "127.0.0.1:9000");
  EXPECT_EQ(c.key.size(), 16U);
  EXPECT_EQ(c.limits.run_ttl, std::chrono::seconds(120));
  EXPECT_EQ(c.limits.max_runs, 5U);
  EXPECT_EQ(c.limits.max_resolvers_per_run, 3U);
  ASSERT_EQ(c.zone.ns_v6.size(), 1U);
  EXPECT_TRUE(c.zone.ns_v4.empty());
  EXPECT_EQ(c.zone.soa_rname.to_text(), "hostmaster.witness.test.");
}

TEST(Config, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\nlisten = [\"nope\"]\n"),
            "w.toml:3: listen: invalid IP address 'nope'");
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\n\nmax_runs = 0\n"),
            "w.toml:4: max_runs: must be between 1 and 1000000");
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\ntypo = 1\n"), "w.toml:3: unknown key \"typo\" in [witness]");
  EXPECT_EQ(
      error_of(
          "[witness]\nzone = \"w.test\"\n[[witness.ns_v4]]\nname = \"ns4.w.test\"\naddresses = [\"2001:db8::1\"]\n"),
      "w.toml:5: ns_v4.addresses: only IPv4 addresses belong in ns_v4");
  EXPECT_EQ(error_of("[witness]\nlisten = []\n"), "w.toml:1: zone is required (and cannot be the root)");
  EXPECT_EQ(error_of("[other]\n"), "w.toml:1: missing [witness] table");
  EXPECT_NE(error_of("[witness\nzone=1").find("w.toml:1: "), std::string::npos);
}

TEST(Config, QuickStartDerivesTheNameServer) {
  const WitnessConfig c = quick_config("w.test", {"192.0.2.53:5353", "0.0.0.0"}, "");
  ASSERT_EQ(c.zone.ns.size(), 1U);
  EXPECT_EQ(c.zone.ns[0].name.to_text(), "ns1.w.test.");
  ASSERT_EQ(c.zone.ns[0].addresses.size(), 1U);  // the wildcard is no address for glue
  EXPECT_EQ(c.api.port(), kDefaultApiPort);
  EXPECT_THROW(quick_config("", {}, ""), ConfigError);
}

}  // namespace
}  // namespace dnsfence::witness
