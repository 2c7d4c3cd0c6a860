// Golden tests: each tests/data/firewall/NAME.toml renders exactly NAME.nft and NAME.iptables.
// UPDATE_GOLDEN=1 rewrites the golden files (review the diff before committing).

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "common/config.hpp"
#include "firewall/iptables_render.hpp"
#include "firewall/model.hpp"
#include "firewall/nft_render.hpp"

namespace dnsfence::firewall {
namespace {

const std::string kDir = DNSFENCE_TEST_DATA "/firewall/";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void check_golden(const std::string& path, const std::string& actual) {
  if (std::getenv("UPDATE_GOLDEN") != nullptr) std::ofstream(path) << actual;
  EXPECT_EQ(read_file(path), actual) << "golden file " << path << " differs (UPDATE_GOLDEN=1 to regenerate)";
}

std::string iptables_text(const Ruleset& rs) {
  std::string out = render_ipsets(rs) + render_iptables(rs, Family::V4) + render_iptables(rs, Family::V6);
  for (const auto& h : iptables_hooks(rs))
    out += "# jump: -t " + h.table + " -I " + h.builtin + " -j " + h.chain + "\n";
  return out;
}

class Golden : public testing::TestWithParam<const char*> {};

TEST_P(Golden, RendersTheCommittedRuleset) {
  const std::string name = GetParam();
  const auto rs = build_ruleset(common::load_config(kDir + name + ".toml"));
  check_golden(kDir + name + ".nft", render_nft_table(rs));
  check_golden(kDir + name + ".iptables", iptables_text(rs));
}

INSTANTIATE_TEST_SUITE_P(Firewall, Golden, testing::Values("redirect", "block", "tproxy", "client"));

std::string error_of(std::string_view toml) {
  try {
    build_ruleset(common::parse_config(toml, "t.toml"));
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(FirewallModel, ServerNeedsAClientScope) {
  EXPECT_EQ(error_of("[firewall]\nmode = \"block\"\n"),
            "t.toml: firewall.profile = \"server\" needs firewall.interfaces or firewall.sources");
}

TEST(FirewallModel, RedirectToLoopbackIsRefused) {
  EXPECT_NE(error_of("[firewall]\ninterfaces = [\"wg0\"]\n").find("serve.listen 127.0.0.1:53 is loopback"),
            std::string::npos);
}

TEST(FirewallModel, TproxyNeedsTransparentListeners) {
  EXPECT_EQ(error_of("[firewall]\nmode = \"tproxy\"\ninterfaces = [\"wg0\"]\n"),
            "t.toml: firewall.mode = \"tproxy\" needs serve.tproxy_listen");
}

TEST(FirewallModel, RedirectWithoutV6ListenerLeavesV6ToTheGuard) {
  const auto rs = build_ruleset(common::parse_config(
      "[serve]\nlisten = [\"0.0.0.0:53\"]\nupstreams = [\"10.0.0.1\"]\n[firewall]\ninterfaces = [\"wg0\"]\n", "t"));
  const std::string nft = render_nft_table(rs);
  EXPECT_NE(nft.find("meta nfproto ipv4 udp dport 53 counter redirect to :53"), std::string::npos);
  EXPECT_EQ(nft.find("nfproto ipv6 udp dport 53 counter redirect"), std::string::npos);
  EXPECT_NE(nft.find("udp dport 53 counter reject"), std::string::npos);  // the guard rejects it instead
}

TEST(FirewallModel, AddressFileErrorsNameTheLine) {
  const std::string path = testing::TempDir() + "/doh-bad." + std::to_string(::getpid()) + ".txt";
  std::ofstream(path) << "# comment\n192.0.2.1\n\nnot-an-address\n";
  std::string error = "no error";
  try {
    load_address_file(path);
  } catch (const common::ConfigError& e) {
    error = e.what();
  }
  std::remove(path.c_str());
  EXPECT_EQ(error.rfind(path + ":4: ", 0), 0U) << error;
}

TEST(FirewallModel, ApplyScriptReplacesTheTableInOneTransaction) {
  const auto rs = build_ruleset(common::load_config(kDir + "block.toml"));
  const std::string script = render_nft_apply(rs);
  EXPECT_EQ(script.rfind("add table inet dnsfence\ndelete table inet dnsfence\ntable inet dnsfence {\n", 0), 0U);
  EXPECT_EQ(render_nft_remove(), "add table inet dnsfence\ndelete table inet dnsfence\n");
}

std::vector<std::string> elements(const Ruleset& rs, const std::string& set) {
  std::vector<std::string> out;
  for (const auto& p : rs.find_set(set)->elements) out.push_back(nft_element(p));
  return out;
}

TEST(FirewallModel, AllowlistSplitsAddressesFromPrefixesWithoutOverlaps) {
  const auto rs = build_ruleset(common::parse_config(R"([allowlist]
addresses = ["10.1.0.0/16", "198.51.100.53", "10.0.0.0/8", "198.51.100.53", "192.0.2.0/24", "2001:db8::53",
             "2001:db8:1::/48", "2001:db8::/32", "10.0.0.1"]
[firewall]
mode = "block"
interfaces = ["wg0"]
)",
                                                     "t.toml"));
  using V = std::vector<std::string>;
  EXPECT_EQ(elements(rs, "allow_v4"), (V{"10.0.0.1", "198.51.100.53"}));       // sorted, no duplicate
  EXPECT_EQ(elements(rs, "allow_net_v4"), (V{"10.0.0.0/8", "192.0.2.0/24"}));  // 10.1.0.0/16 is inside /8
  EXPECT_EQ(elements(rs, "allow_v6"), (V{"2001:db8::53"}));
  EXPECT_EQ(elements(rs, "allow_net_v6"), (V{"2001:db8::/32"}));
  EXPECT_FALSE(rs.find_set("allow_v4")->interval);
  EXPECT_TRUE(rs.find_set("allow_net_v4")->interval);
  EXPECT_EQ(allowlist_set(*common::Prefix::parse("2001:db8::1")), "allow_v6");
  EXPECT_EQ(allowlist_set(*common::Prefix::parse("10.0.0.0/8")), "allow_net_v4");
  const std::string nft = render_nft_table(rs);
  EXPECT_NE(nft.find("set allow_v4 {\n\t\ttype ipv4_addr\n\t\telements"), std::string::npos) << nft;
  EXPECT_EQ(nft.find("auto-merge"), std::string::npos);
}

}  // namespace
}  // namespace dnsfence::firewall
