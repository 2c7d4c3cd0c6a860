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

TEST(Decode, QueryTypeIsRecorded) {
  auto o = decode_frame(DLT_LINUX_SLL2, sll2_udp(build_query("a.example", 7, 28), 40001, 53), 0);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->qtype, 28);
  o = decode_frame(DLT_LINUX_SLL2, sll2_udp(build_query("a.example", 7), 40001, 53), 0);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->qtype, 1);
}

// A client's QUIC Initial (RFC 9000 17.2.2): long header, version, 8-byte DCID, empty SCID, no
// token, a 2-byte length covering the (encrypted, here zero) rest, padded to `size` bytes.
std::vector<std::uint8_t> quic_initial(std::uint32_t version, std::uint8_t first, std::size_t size) {
  std::vector<std::uint8_t> p = {first,
                                 static_cast<std::uint8_t>(version >> 24),
                                 static_cast<std::uint8_t>(version >> 16),
                                 static_cast<std::uint8_t>(version >> 8),
                                 static_cast<std::uint8_t>(version),
                                 8,
                                 1,
                                 2,
                                 3,
                                 4,
                                 5,
                                 6,
                                 7,
                                 8,
                                 0,
                                 0};
  const std::size_t rest = size - p.size() - 2;
  p.push_back(static_cast<std::uint8_t>(0x40 | (rest >> 8)));
  p.push_back(static_cast<std::uint8_t>(rest));
  p.resize(size, 0);
  return p;
}

TEST(Decode, QuicInitialToPort853IsDoq) {
  auto o = decode_frame(DLT_LINUX_SLL2, sll2_udp(quic_initial(1, 0xc3, 1200), 40001, 853), 0.25);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->wire, Wire::Doq);
  EXPECT_FALSE(o->is_response);
  EXPECT_EQ(o->dst.to_string(), "198.51.100.53:853");
  EXPECT_TRUE(o->qname.empty());
  EXPECT_EQ(o->ifindex, 5);
  // QUIC v2 numbers its Initial packet type 1 (RFC 9369).
  EXPECT_TRUE(decode_frame(DLT_LINUX_SLL2, sll2_udp(quic_initial(0x6b3343cf, 0xd3, 1250), 40001, 853), 0));
}

TEST(Decode, NotAQuicInitialIsNotDoq) {
  auto frame = [](const std::vector<std::uint8_t>& p) { return sll2_udp(p, 40001, 853); };
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, frame(quic_initial(1, 0xc3, 600)), 0));   // unpadded client Initial
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, frame(quic_initial(1, 0xe3, 1200)), 0));  // Handshake, not Initial
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, frame(quic_initial(0, 0xc3, 1200)), 0));  // version negotiation
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, frame(quic_initial(1, 0x43, 1200)), 0));  // short header
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, frame(build_query("a.example", 7)), 0));  // plain DNS on 853
  auto long_cid = quic_initial(1, 0xc3, 1200);
  long_cid[5] = 21;  // a connection id longer than 20 bytes
  EXPECT_FALSE(decode_frame(DLT_LINUX_SLL2, frame(long_cid), 0));
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
