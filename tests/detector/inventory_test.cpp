#include "detector/inventory.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <arpa/inet.h>
#include <unistd.h>

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

// A router-advertised link-local resolver keeps its zone: without it no probe can reach it.
TEST(Inventory, ResolvConfKeepsTheZoneOfALinkLocalResolver) {
  const auto v = parse_resolv_conf_zones("nameserver fe80::1%eth0\nnameserver 192.0.2.1\n");
  ASSERT_EQ(v.size(), 2U);
  EXPECT_EQ(v[0].first.to_string(), "fe80::1");
  EXPECT_EQ(v[0].second, "eth0");
  EXPECT_EQ(v[1].second, "");
  EXPECT_EQ(text(parse_resolv_conf("nameserver fe80::1%eth0\n")), (std::vector<std::string>{"fe80::1"}));
}

TEST(Inventory, LeaseAddresses) {
  EXPECT_EQ(lease_address(testing::read_text("dhclient.eth0.leases"), "dhclient")->to_string(), "192.168.1.24");
  EXPECT_EQ(lease_address(testing::read_text("networkd.lease"), "systemd-networkd")->to_string(), "192.168.1.23");
  EXPECT_EQ(lease_address(testing::read_text("udhcpc.env"), "udhcpc")->to_string(), "192.168.1.23");
  EXPECT_FALSE(lease_address("dns=192.0.2.1\n", "udhcpc"));
}

// Lease directories are the host's in every network namespace (LAB-NOTES pitfall 12): a lease
// whose address is not on this namespace's interface is another namespace's, never its resolvers.
TEST(Inventory, LeasesOfAnotherNetworkNamespaceAreIgnored) {
  const auto dir = std::filesystem::temp_directory_path() / ("dnsfence-leases-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "eth0.env") << "interface=eth0\nip=10.99.0.5\ndns=198.51.100.99\n";
  auto here = [](std::vector<std::pair<std::string, IpAddress>> v) { return [v] { return v; }; };
  std::vector<std::unique_ptr<InventorySource>> sources;
  sources.push_back(make_lease_source(dir.string(), "udhcpc", here({{"eth0", *IpAddress::parse("10.10.0.100")}})));
  Inventory inv = collect_inventory(sources);
  EXPECT_TRUE(inv.resolvers.empty());
  ASSERT_EQ(inv.notes.size(), 1U);
  EXPECT_NE(inv.notes[0].find("10.99.0.5 is not on eth0"), std::string::npos);
  // The same lease in the namespace that holds its address: its resolvers, saying why.
  sources.clear();
  sources.push_back(make_lease_source(dir.string(), "udhcpc", here({{"eth0", *IpAddress::parse("10.99.0.5")}})));
  inv = collect_inventory(sources);
  std::filesystem::remove_all(dir);
  ASSERT_EQ(inv.resolvers.size(), 1U);
  EXPECT_EQ(inv.resolvers[0].address.to_string(), "198.51.100.99");
  EXPECT_EQ(inv.resolvers[0].link, "eth0");
  EXPECT_NE(inv.resolvers[0].origin.find("its address 10.99.0.5 is on eth0"), std::string::npos);
}

// The tunnel's own prefixes decide which resolvers are the VPN's: an IPv6 one too (the matrix found
// the tunnel's fd00:8::2/64 recorded as a /128, so the VPN's fd00:8::1 looked like a third party).
TEST(Inventory, InterfacePrefixesOfBothFamilies) {
  sockaddr_in6 a6{}, m6{};
  a6.sin6_family = m6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "fd00:8::2", &a6.sin6_addr);
  inet_pton(AF_INET6, "ffff:ffff:ffff:ffff::", &m6.sin6_addr);
  auto p = interface_prefix(reinterpret_cast<sockaddr*>(&a6), reinterpret_cast<sockaddr*>(&m6));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), "fd00:8::/64");
  EXPECT_TRUE(p->contains(*IpAddress::parse("fd00:8::1")));
  sockaddr_in a4{}, m4{};
  a4.sin_family = m4.sin_family = AF_INET;
  inet_pton(AF_INET, "10.8.0.2", &a4.sin_addr);
  inet_pton(AF_INET, "255.255.255.0", &m4.sin_addr);
  p = interface_prefix(reinterpret_cast<sockaddr*>(&a4), reinterpret_cast<sockaddr*>(&m4));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), "10.8.0.0/24");
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
