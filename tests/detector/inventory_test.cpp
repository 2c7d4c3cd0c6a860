#include "detector/inventory.hpp"

#include <gtest/gtest.h>

#include "detector/testing_facts.hpp"

namespace dnsfence::detector {
namespace {

std::vector<std::string> text(const std::vector<IpAddress>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

TEST(Inventory, ResolvConfKeepsNameserversInOrder) {
  EXPECT_EQ(text(parse_resolv_conf(testing::read_text("resolv.conf"))),
            (std::vector<std::string>{"192.168.1.1", "2001:db8::53", "10.64.0.1"}));
  EXPECT_TRUE(parse_resolv_conf("").empty());
  EXPECT_TRUE(parse_resolv_conf("nameserver").empty());
}

TEST(Inventory, DhclientUsesTheLastLease) {
  EXPECT_EQ(text(parse_dhclient_leases(testing::read_text("dhclient.eth0.leases"))),
            (std::vector<std::string>{"192.168.1.1"}));
  EXPECT_EQ(text(parse_dhclient_leases("lease {\n option domain-name-servers 198.51.100.53,198.51.100.54;\n}\n")),
            (std::vector<std::string>{"198.51.100.53", "198.51.100.54"}));
}

TEST(Inventory, NetworkdAndUdhcpcLeases) {
  EXPECT_EQ(text(parse_env_lease(testing::read_text("networkd.lease"), "DNS")),
            (std::vector<std::string>{"198.51.100.53", "198.51.100.54"}));
  EXPECT_EQ(text(parse_env_lease(testing::read_text("udhcpc.env"), "dns")),
            (std::vector<std::string>{"100.64.0.53", "100.64.0.54"}));
  EXPECT_TRUE(parse_env_lease("DNSSEC=yes\n", "DNS").empty());
}

class FixedSource final : public InventorySource {
 public:
  [[nodiscard]] std::string name() const override { return "fixed"; }
  void collect(Inventory& out) override {
    for (int i = 0; i < 2; ++i) out.resolvers.push_back(Resolver{*IpAddress::parse("192.0.2.53"), "fixed", "eth0"});
    out.notes.push_back("fixed: ran");
  }
};

TEST(Inventory, CollectDropsDuplicates) {
  std::vector<std::unique_ptr<InventorySource>> sources;
  sources.push_back(std::make_unique<FixedSource>());
  const Inventory inv = collect_inventory(sources);
  EXPECT_EQ(inv.resolvers.size(), 1U);
  EXPECT_EQ(inv.notes.size(), 1U);
}

TEST(Inventory, AbsentResolvConfIsANote) {
  auto sources = linux_sources("/nonexistent/resolv.conf");
  std::vector<std::unique_ptr<InventorySource>> first;
  first.push_back(std::move(sources.front()));
  const Inventory inv = collect_inventory(first);
  EXPECT_TRUE(inv.resolvers.empty());
  ASSERT_EQ(inv.notes.size(), 1U);
  EXPECT_NE(inv.notes[0].find("absent"), std::string::npos);
}

}  // namespace
}  // namespace dnsfence::detector
