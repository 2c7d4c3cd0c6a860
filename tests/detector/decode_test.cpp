#include <gtest/gtest.h>
#include <pcap/dlt.h>

#include "detector/capture.hpp"
#include "detector/probes.hpp"

namespace dnsfence::detector {
namespace {

// A DLT_LINUX_SLL2 frame: IPv4/UDP from 10.64.0.2:40001 to 198.51.100.53:53 on ifindex 5.
std::vector<std::uint8_t> sll2_udp(const std::vector<std::uint8_t>& dns, std::uint16_t sport, std::uint16_t dport) {
  std::vector<std::uint8_t> f = {0x08, 0x00, 0, 0, 0, 0, 0, 5, 0xff, 0xfe, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const auto udp_len = static_cast<std::uint16_t>(8 + dns.size());
  const auto ip_len = static_cast<std::uint16_t>(20 + udp_len);
  const std::vector<std::uint8_t> ip = {0x45,
                                        0,
                                        static_cast<std::uint8_t>(ip_len >> 8),
                                        static_cast<std::uint8_t>(ip_len),
                                        0,
                                        0,
                                        0x40,
                                        0,
                                        64,
                                        17,
                                        0,
                                        0,
                                        10,
                                        64,
                                        0,
                                        2,
                                        198,
                                        51,
                                        100,
                                        53};
  f.insert(f.end(), ip.begin(), ip.end());
  const std::vector<std::uint8_t> udp = {static_cast<std::uint8_t>(sport >> 8),
                                         static_cast<std::uint8_t>(sport),
                                         static_cast<std::uint8_t>(dport >> 8),
                                         static_cast<std::uint8_t>(dport),
                                         static_cast<std::uint8_t>(udp_len >> 8),
                                         static_cast<std::uint8_t>(udp_len),
                                         0,
                                         0};
  f.insert(f.end(), udp.begin(), udp.end());
  f.insert(f.end(), dns.begin(), dns.end());
  f.push_back(0);  // link padding beyond the UDP length must be ignored
  return f;
}

TEST(Decode, UdpQueryOnLinuxSll2) {
  const auto frame = sll2_udp(build_query("AbC.leak.example", 0x1234), 40001, 53);
  auto o = decode_frame(DLT_LINUX_SLL2, frame, 1.5);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->ifindex, 5);
  EXPECT_EQ(o->src.to_string(), "10.64.0.2:40001");
  EXPECT_EQ(o->dst.to_string(), "198.51.100.53:53");
  EXPECT_EQ(o->qname, "abc.leak.example");
  EXPECT_EQ(o->id, 0x1234);
  EXPECT_FALSE(o->is_response);
  EXPECT_EQ(o->wire, Wire::Udp);
  EXPECT_DOUBLE_EQ(o->time, 1.5);
}

TEST(Decode, ResponseWithAnAnswer) {
  auto dns = build_query("a.example", 7);
  dns[2] |= 0x80;  // QR
  dns[7] = 1;      // ANCOUNT
  const std::vector<std::uint8_t> rr = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 99};
  dns.insert(dns.end(), rr.begin(), rr.end());
  auto o = decode_frame(DLT_LINUX_SLL2, sll2_udp(dns, 53, 40001), 0);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->is_response);
  EXPECT_EQ(o->answers, (std::vector<std::string>{"192.0.2.99"}));
}

TEST(Decode, RejectsOtherPortsGarbageAndShortFrames) {
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, sll2_udp(build_query("a.example", 7), 40001, 5353), 0));
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, sll2_udp({1, 2, 3}, 40001, 53), 0));
  const std::vector<std::uint8_t> shorty = {0x08, 0x00, 0};
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, shorty, 0));
  EXPECT_FALSE(decode_frame(12345, shorty, 0));
}

}  // namespace
}  // namespace dnsfence::detector
