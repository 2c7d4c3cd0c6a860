// The pieces of an all-or-nothing apply that need no kernel: the undo log, the family detection,
// the policy-routing listings (`ip -j rule`, `ip -j route` as iproute2 6.1 prints them) and the
// iptables-restore input that puts dnsfence's previous chains back.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "common/config.hpp"
#include "firewall/iptables_render.hpp"
#include "firewall/iptables_snapshot.hpp"
#include "firewall/routing.hpp"
#include "firewall/undo.hpp"

namespace dnsfence::firewall {
namespace {

TEST(Undo, RevertsNewestFirstAndReportsWhatItCouldNot) {
  std::string order;
  Undo undo;
  undo.push("one", [&] { order += "1"; });
  undo.push("two", [&] { throw std::runtime_error("ip: exit 2"); });
  undo.push("three", [&] { order += "3"; });
  EXPECT_EQ(undo.rollback(), std::vector<std::string>{"two: ip: exit 2"});
  EXPECT_EQ(order, "31");  // the failed step did not stop the older one
  EXPECT_TRUE(undo.rollback().empty());
}

TEST(Undo, CommitKeepsEverythingAndALeftScopeRevertsEverything) {
  std::string order;
  {
    Undo undo;
    undo.push("a", [&] { order += "a"; });
    undo.commit();
  }
  EXPECT_EQ(order, "");
  {
    Undo undo;
    undo.push("b", [&] { order += "b"; });
  }  // e.g. an exception left apply
  EXPECT_EQ(order, "b");
}

TEST(Families, Ipv6DisabledOnLoOrAbsent) {
  const auto dir = std::filesystem::temp_directory_path() / ("dnsfence-fam-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "ipv6/conf/lo");
  std::ofstream(dir / "ipv6/conf/lo/disable_ipv6") << "0\n";
  EXPECT_TRUE(detect_families(dir).v6);
  std::ofstream(dir / "ipv6/conf/lo/disable_ipv6") << "1\n";
  const auto off = detect_families(dir);
  EXPECT_FALSE(off.v6);
  EXPECT_EQ(off.v6_off, "IPv6 is disabled (net.ipv6.conf.lo.disable_ipv6 = 1)");
  std::filesystem::remove_all(dir / "ipv6");
  EXPECT_FALSE(detect_families(dir).v6);
  EXPECT_NE(detect_families(dir).v6_off.find("the kernel has no IPv6"), std::string::npos);
  std::filesystem::remove_all(dir);
}

const PolicyRoute kRoute{0x1, 100};

TEST(Routing, FindsOurRuleAndRoute) {
  const auto st = parse_routing(kRoute,
                                R"([{"priority":0,"src":"all","table":"local"},
                                    {"priority":32765,"src":"all","fwmark":"0x1","table":"100"},
                                    {"priority":32766,"src":"all","table":"main"}])",
                                R"([{"type":"local","dst":"default","dev":"lo","scope":"host","flags":[]}])");
  EXPECT_TRUE(st.rule);
  EXPECT_TRUE(st.route);
  EXPECT_TRUE(st.conflicts.empty());
  EXPECT_TRUE(routing_drift(kRoute, Family::V4, st).empty());
}

TEST(Routing, MissingRuleOrRouteIsDrift) {
  const auto st = parse_routing(kRoute, R"([{"priority":0,"src":"all","table":"local"}])", "");
  EXPECT_FALSE(st.rule);
  EXPECT_FALSE(st.route);
  EXPECT_EQ(routing_drift(kRoute, Family::V6, st),
            (std::vector<std::string>{"policy routing (IPv6): no rule 'fwmark 0x1 lookup 100'",
                                      "policy routing (IPv6): table 100 has no route 'local default dev lo'"}));
}

// What apply refuses rather than overwrite: the mark already routed elsewhere (or only in part),
// or the table already used for other routes.
TEST(Routing, ForeignRulesForTheMarkAndForeignRoutesInTheTableAreConflicts) {
  const auto st = parse_routing(kRoute,
                                R"([{"priority":32762,"src":"all","fwmark":"0x1","iif":"eth0","table":"100"},
                                    {"priority":32763,"src":"all","fwmark":"0x1","action":"unreachable"},
                                    {"priority":32764,"src":"all","fwmark":"0x1","fwmask":"0xff","table":"200"},
                                    {"priority":32765,"src":"all","fwmark":"0x2","table":"100"}])",
                                R"([{"type":"unreachable","dst":"default","dev":"lo","metric":1024},
                                    {"dst":"10.0.0.0/8","gateway":"192.0.2.1","dev":"eth0"}])");
  EXPECT_FALSE(st.rule);
  EXPECT_FALSE(st.route);
  ASSERT_EQ(st.conflicts.size(), 5U);
  EXPECT_EQ(st.conflicts[0],
            "fwmark 0x1 already has another rule: ip rule fwmark 0x1 iif eth0 table 100 (choose another "
            "firewall.tproxy_mark)");
  EXPECT_EQ(st.conflicts[1],
            "fwmark 0x1 already has another rule: ip rule action unreachable fwmark 0x1 (choose another "
            "firewall.tproxy_mark)");
  EXPECT_EQ(st.conflicts[3],
            "table 100 already holds a route that is not dnsfence's: unreachable default dev lo (choose another "
            "firewall.tproxy_table)");
  EXPECT_EQ(st.conflicts[4],
            "table 100 already holds a route that is not dnsfence's: unicast 10.0.0.0/8 via 192.0.2.1 dev eth0 "
            "(choose another firewall.tproxy_table)");
}

TEST(Routing, BadListingThrows) {
  EXPECT_ANY_THROW(parse_routing(kRoute, "[{", "[]"));
}

Ruleset tproxy_ruleset() {
  return build_ruleset(common::parse_config(
      "[serve]\ntproxy_listen = [\"0.0.0.0:5300\"]\nupstreams = [\"10.0.0.1\"]\n[firewall]\nmode = \"tproxy\"\n"
      "interfaces = [\"wg0\"]\n",
      "t"));
}

ChainSnapshot applied(const Ruleset& rs) {
  return snapshot_chains(render_iptables(rs, Family::V4));
}

// First apply: nothing of dnsfence's existed, so the rollback deletes every chain it declared, and
// names no table that neither side uses (a rollback must not create empty tables).
TEST(ChainRestore, FromNothingDeletesEveryChain) {
  const auto before = snapshot_chains("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n");
  EXPECT_EQ(render_chain_restore(before, applied(tproxy_ruleset())),
            "# dnsfence rollback: the DNSFENCE-* chains as they were\n"
            "*filter\n:DNSFENCE-FORWARD - [0:0]\n:DNSFENCE-GUARD - [0:0]\n"
            "-X DNSFENCE-FORWARD\n-X DNSFENCE-GUARD\nCOMMIT\n"
            "*mangle\n:DNSFENCE-PREROUTING - [0:0]\n:DNSFENCE-TPROXY_DNS - [0:0]\n"
            "-X DNSFENCE-PREROUTING\n-X DNSFENCE-TPROXY_DNS\nCOMMIT\n");
  EXPECT_EQ(render_chain_restore(before, before), "");  // the failed restore committed nothing
}

// Re-apply after a mode change: the old redirect chains get their rules back, the tproxy chains
// that only the new ruleset has are deleted, other chains in iptables-save are not touched.
TEST(ChainRestore, PutsBackThePreviousRulesAndDeletesOnlyTheNewChains) {
  const std::string save =
      "# Generated by iptables-save\n*nat\n:PREROUTING ACCEPT [0:0]\n:DNSFENCE-PREROUTING - [0:0]\n"
      ":DNSFENCE-REDIRECT_DNS - [0:0]\n:OPERATOR - [0:0]\n-A PREROUTING -i eth9 -j OPERATOR\n"
      "-A PREROUTING -j DNSFENCE-PREROUTING\n"
      "-A DNSFENCE-PREROUTING -i wg0 -m comment --comment clients-by-interface -g DNSFENCE-REDIRECT_DNS\n"
      "-A DNSFENCE-REDIRECT_DNS -p udp -m udp --dport 53 -m comment --comment \"redirected v4\" -j DNAT "
      "--to-destination 10.8.0.1:53\n-A OPERATOR -j ACCEPT\nCOMMIT\n"
      "*filter\n:DNSFENCE-FORWARD - [0:0]\n:DNSFENCE-GUARD - [0:0]\n-A DNSFENCE-GUARD -j RETURN\nCOMMIT\n";
  const auto before = snapshot_chains(save);
  EXPECT_EQ(before.chains.at("nat"), (std::vector<std::string>{"DNSFENCE-PREROUTING", "DNSFENCE-REDIRECT_DNS"}));
  auto now = applied(tproxy_ruleset());  // the tproxy chains committed; redirect's are still there
  now.chains["nat"] = before.chains.at("nat");
  EXPECT_EQ(render_chain_restore(before, now),
            "# dnsfence rollback: the DNSFENCE-* chains as they were\n"
            "*filter\n:DNSFENCE-FORWARD - [0:0]\n:DNSFENCE-GUARD - [0:0]\n-A DNSFENCE-GUARD -j RETURN\nCOMMIT\n"
            "*mangle\n:DNSFENCE-PREROUTING - [0:0]\n:DNSFENCE-TPROXY_DNS - [0:0]\n"
            "-X DNSFENCE-PREROUTING\n-X DNSFENCE-TPROXY_DNS\nCOMMIT\n"
            "*nat\n:DNSFENCE-PREROUTING - [0:0]\n:DNSFENCE-REDIRECT_DNS - [0:0]\n"
            "-A DNSFENCE-PREROUTING -i wg0 -m comment --comment clients-by-interface -g DNSFENCE-REDIRECT_DNS\n"
            "-A DNSFENCE-REDIRECT_DNS -p udp -m udp --dport 53 -m comment --comment \"redirected v4\" -j DNAT "
            "--to-destination 10.8.0.1:53\nCOMMIT\n");
}

// Tables a rollback emptied and that were not there before (iptables-nft created them) go; a table
// that existed, or holds anything (a rule, a chain, a policy other than ACCEPT), stays.
TEST(ChainRestore, EmptiedNewTablesAreFound) {
  const auto before = snapshot_chains("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
  const auto now = snapshot_chains(
      "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
      "*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j ACCEPT\nCOMMIT\n*raw\n:PREROUTING DROP [0:0]\nCOMMIT\n"
      "*security\n:X - [0:0]\nCOMMIT\n");
  EXPECT_EQ(emptied_new_tables(before, now), std::vector<std::string>{"filter"});
}

// The same mode change, once the tproxy chains are in: redirect's nat chains and their jump go (and
// the undo puts them back, the jump at its old position, after the operator's rule).
TEST(ChainRestore, PreviousModesChainsAreRemovedAndRestorable) {
  const std::string save =
      "*nat\n:PREROUTING ACCEPT [0:0]\n:DNSFENCE-PREROUTING - [0:0]\n:DNSFENCE-REDIRECT_DNS - [0:0]\n"
      "-A PREROUTING -i eth9 -j ACCEPT\n-A PREROUTING -j DNSFENCE-PREROUTING\n"
      "-A DNSFENCE-PREROUTING -i wg0 -g DNSFENCE-REDIRECT_DNS\n-A DNSFENCE-REDIRECT_DNS -p udp -j REDIRECT\nCOMMIT\n"
      "*filter\n:DNSFENCE-FORWARD - [0:0]\n:DNSFENCE-GUARD - [0:0]\n-A FORWARD -j DNSFENCE-FORWARD\nCOMMIT\n";
  const auto before = snapshot_chains(save);
  ASSERT_EQ(before.jumps.at("nat").size(), 1U);
  EXPECT_EQ(before.jumps.at("nat")[0].position, 2);
  EXPECT_EQ(render_stale_removal(before, tproxy_ruleset()),
            "# dnsfence: the DNSFENCE-* chains of a previous mode\n*nat\n-D PREROUTING -j DNSFENCE-PREROUTING\n"
            "-F DNSFENCE-PREROUTING\n-F DNSFENCE-REDIRECT_DNS\n-X DNSFENCE-PREROUTING\n-X DNSFENCE-REDIRECT_DNS\n"
            "COMMIT\n");
  EXPECT_EQ(render_stale_restore(before, tproxy_ruleset(), before), "");  // the removal never ran
  EXPECT_EQ(render_stale_restore(before, tproxy_ruleset(), applied(tproxy_ruleset())),
            "# dnsfence rollback: the DNSFENCE-* chains of the previous mode\n*nat\n:DNSFENCE-PREROUTING - [0:0]\n"
            ":DNSFENCE-REDIRECT_DNS - [0:0]\n-A DNSFENCE-PREROUTING -i wg0 -g DNSFENCE-REDIRECT_DNS\n"
            "-A DNSFENCE-REDIRECT_DNS -p udp -j REDIRECT\n-I PREROUTING 2 -j DNSFENCE-PREROUTING\nCOMMIT\n");
  EXPECT_EQ(render_stale_removal(snapshot_chains(""), tproxy_ruleset()), "");  // nothing stale
}

}  // namespace
}  // namespace dnsfence::firewall
