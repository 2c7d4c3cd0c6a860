#include "common/net.hpp"

#include <gtest/gtest.h>

namespace dnsfence::common {
namespace {

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(IpAddress::parse("192.0.2.1")->to_string(), "192.0.2.1");
  EXPECT_TRUE(IpAddress::parse("192.0.2.1")->is_v4());
  EXPECT_EQ(IpAddress::parse("2001:DB8::1")->to_string(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::parse("2001:db8::1")->is_v4());
  EXPECT_FALSE(IpAddress::parse("192.0.2.256").has_value());
  EXPECT_FALSE(IpAddress::parse("example.net").has_value());
  in6_addr mapped{};
  mapped.s6_addr[10] = mapped.s6_addr[11] = 0xff;
  mapped.s6_addr[12] = 10;
  mapped.s6_addr[15] = 1;
  EXPECT_EQ(IpAddress::from_v6(mapped).to_string(), "10.0.0.1");
}

TEST(SocketAddress, ParsesPortsAndBrackets) {
  EXPECT_EQ(SocketAddress::parse("127.0.0.1:5353")->port(), 5353);
  EXPECT_EQ(SocketAddress::parse("[::1]:53")->to_string(), "[::1]:53");
  EXPECT_EQ(SocketAddress::parse("::1", 53)->to_string(), "[::1]:53");
  EXPECT_EQ(SocketAddress::parse("10.0.0.1", 53)->to_string(), "10.0.0.1:53");
  EXPECT_FALSE(SocketAddress::parse("10.0.0.1").has_value());
  EXPECT_FALSE(SocketAddress::parse("10.0.0.1:65536").has_value());
  EXPECT_FALSE(SocketAddress::parse("[::1]53").has_value());
  EXPECT_FALSE(SocketAddress::parse("[::1:53").has_value());
}

TEST(SocketAddress, RoundTripsThroughSockaddr) {
  for (const char* text : {"192.0.2.7:853", "[2001:db8::7]:53"}) {
    const auto a = SocketAddress::parse(text).value();
    sockaddr_storage ss{};
    const socklen_t len = a.to_sockaddr(ss);
    EXPECT_EQ(SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value(), a);
  }
}

TEST(Prefix, ParsesValidatesAndMatches) {
  const auto lan = Prefix::parse("192.168.0.0/16").value();
  EXPECT_TRUE(lan.contains(IpAddress::parse("192.168.44.1").value()));
  EXPECT_FALSE(lan.contains(IpAddress::parse("192.169.0.1").value()));
  EXPECT_FALSE(lan.contains(IpAddress::parse("::1").value()));
  const auto cgnat = Prefix::parse("100.64.0.0/10").value();
  EXPECT_TRUE(cgnat.contains(IpAddress::parse("100.127.255.255").value()));
  EXPECT_FALSE(cgnat.contains(IpAddress::parse("100.128.0.0").value()));
  EXPECT_EQ(Prefix::parse("198.51.100.53")->length(), 32U);
  EXPECT_EQ(Prefix::parse("fd00::/8")->to_string(), "fd00::/8");
  EXPECT_TRUE(Prefix::parse("fd00::/8")->contains(IpAddress::parse("fd12::1").value()));
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0")->contains(IpAddress::parse("203.0.113.9").value()));
  EXPECT_FALSE(Prefix::parse("10.0.0.1/8").has_value());  // host bits set
  EXPECT_FALSE(Prefix::parse("10.0.0.0/33").has_value());
  EXPECT_FALSE(Prefix::parse("10.0.0.0/").has_value());
}

}  // namespace
}  // namespace dnsfence::common
