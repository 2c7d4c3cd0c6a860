// Drift detection for the nft backend: a fixed `nft -j list table inet dnsfence` listing is parsed
// and compared with the ruleset built from a configuration, as `firewall status` does.

#include <gtest/gtest.h>

#include <string>

#include "common/config.hpp"
#include "firewall/model.hpp"
#include "firewall/status.hpp"

namespace dnsfence::firewall {
namespace {

// Block mode, two allowlisted addresses and one prefix, clients by source only.
Ruleset ruleset() {
  return build_ruleset(common::parse_config(R"([allowlist]
addresses = ["198.51.100.53", "203.0.113.7", "10.0.0.0/8"]
[firewall]
mode = "block"
sources = ["10.8.0.0/24"]
block_encrypted = false
)",
                                            "t.toml"));
}

std::string rule(const std::string& chain, const std::string& comment, int packets) {
  return R"({"rule": {"family": "inet", "table": "dnsfence", "chain": ")" + chain + R"(", "handle": 9, "comment": ")" +
         comment + R"(", "expr": [{"counter": {"packets": )" + std::to_string(packets) +
         R"(, "bytes": 640}}, {"return": null}]}})";
}

std::string set(const std::string& name, const std::string& elements) {
  return R"({"set": {"family": "inet", "name": ")" + name + R"(", "table": "dnsfence", "type": "ipv4_addr")" +
         (elements.empty() ? "" : R"(, "elem": [)" + elements + "]") + "}}";
}

// The kernel's listing of the applied ruleset; `allow_v4` is how its elements are listed.
std::string listing(const std::string& allow_v4, const std::string& guard_last = "blocked-dns-tcp") {
  std::string out = R"({"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"name": "dnsfence"}}, )";
  out += set("clients_v4", R"({"prefix": {"addr": "10.8.0.0", "len": 24}})") + ", " + set("clients_v6", "") + ", ";
  out += set("allow_v4", allow_v4) + ", " + set("allow_v6", "") + ", ";
  out += set("allow_net_v4", R"({"prefix": {"addr": "10.0.0.0", "len": 8}})") + ", " + set("allow_net_v6", "") + ", ";
  out += R"({"chain": {"name": "forward"}}, {"chain": {"name": "guard"}}, )";
  out += rule("forward", "clients-by-source-v4", 0) + ", " + rule("forward", "clients-by-source-v6", 0);
  for (const char* name : {"allowed-v4-udp", "allowed-v4-tcp", "allowed-v6-udp", "allowed-v6-tcp", "allowed-net-v4-udp",
                           "allowed-net-v4-tcp", "allowed-net-v6-udp", "allowed-net-v6-tcp", "blocked-dns-udp"})
    out += ", " + rule("guard", name, 0);
  return out + ", " + rule("guard", guard_last, 7) + "]}";
}

Status status_of(const std::string& json) {
  Status st;
  st.applied = true;
  const Listing actual = parse_nft_listing(json);
  st.counters = actual.counters;
  compare(expected_nft(ruleset()), actual, st);
  return st;
}

TEST(NftStatus, SetElementsInAnotherOrderAreNotDrift) {
  // A hash set lists its elements in hash order: here the reverse of the configuration's.
  const auto st = status_of(listing(R"("203.0.113.7", "198.51.100.53")"));
  EXPECT_TRUE(st.drift.empty()) << st.drift.front();
}

TEST(NftStatus, ReadsEveryRuleCounter) {
  const auto st = status_of(listing(R"("198.51.100.53", "203.0.113.7")"));
  ASSERT_EQ(st.counters.size(), 12U);
  EXPECT_EQ(st.counters.back().chain, "guard");
  EXPECT_EQ(st.counters.back().name, "blocked-dns-tcp");
  EXPECT_EQ(st.counters.back().packets, 7U);
  EXPECT_EQ(st.counters.back().bytes, 640U);
}

TEST(NftStatus, AMissingOrExtraElementIsDrift) {
  auto st = status_of(listing(R"("198.51.100.53")"));
  ASSERT_EQ(st.drift.size(), 1U);
  EXPECT_EQ(st.drift[0], "set allow_v4: elements differ from the configuration");
  st = status_of(listing(R"("198.51.100.53", "203.0.113.7", "192.0.2.1")"));
  ASSERT_EQ(st.drift.size(), 1U);
  EXPECT_EQ(st.drift[0], "set allow_v4: elements differ from the configuration");
}

TEST(NftStatus, AChangedRuleIsDrift) {
  const auto st = status_of(listing(R"("198.51.100.53", "203.0.113.7")", "operator-rule"));
  ASSERT_EQ(st.drift.size(), 1U);
  EXPECT_EQ(st.drift[0], "chain guard: rules differ from the configuration");
}

TEST(NftStatus, MissingAndExtraChainsAreDrift) {
  Status st;
  Listing actual = parse_nft_listing(listing(R"("198.51.100.53", "203.0.113.7")"));
  actual.chains.erase("forward");
  actual.chains["mine"];
  compare(expected_nft(ruleset()), actual, st);
  ASSERT_EQ(st.drift.size(), 2U);
  EXPECT_EQ(st.drift[0], "chain forward is missing");
  EXPECT_EQ(st.drift[1], "chain mine is not in the configuration");
}

}  // namespace
}  // namespace dnsfence::firewall
