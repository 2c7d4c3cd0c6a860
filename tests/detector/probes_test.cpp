#include "detector/probes.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <thread>

#include "dns/message.hpp"
#include "dns/response.hpp"

namespace dnsfence::detector {
namespace {

using namespace std::chrono_literals;

TEST(Probes, NamesAreUniqueUnderTheZone) {
  std::mt19937_64 rng(1);
  const auto a = make_probe_name("Leak.Example.", rng);
  const auto b = make_probe_name("leak.example", rng);
  EXPECT_NE(a, b);
  EXPECT_TRUE(a.ends_with(".leak.example"));
  EXPECT_EQ(a.size(), 16 + 1 + 12);
}

TEST(Probes, QueryParses) {
  const auto q = build_query("x.example", 99);
  auto m = dns::parse(q);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header().id, 99);
  EXPECT_TRUE(m->header().has(dns::flag::RD));
  EXPECT_THROW(build_query("bad..name", 1), std::invalid_argument);
  const auto aaaa = build_query("x.example", 99, 28);
  auto m6 = dns::parse(aaaa);
  ASSERT_TRUE(m6 && m6->question());
  EXPECT_EQ(m6->question()->qtype, 28);
  EXPECT_EQ(m->question()->qtype, 1);
}

// A UDP resolver on loopback that answers one query NXDOMAIN, or stays silent.
struct LoopbackResolver {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  std::uint16_t port = 0;
  std::uint16_t last_qtype = 0;  // the type of the last query answered
  LoopbackResolver() {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~LoopbackResolver() { ::close(fd); }
  LoopbackResolver(const LoopbackResolver&) = delete;
  LoopbackResolver& operator=(const LoopbackResolver&) = delete;
  void answer_once() {
    std::array<std::uint8_t, 512> in{};
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const auto n = ::recvfrom(fd, in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    auto q = dns::parse(dns::Bytes(in.data(), static_cast<std::size_t>(n)));
    last_qtype = q->question()->qtype;
    std::array<std::uint8_t, 512> out{};
    auto size = dns::build_nxdomain(*q, nullptr, dns::Transport::Udp, out);
    ::sendto(fd, out.data(), *size, 0, reinterpret_cast<sockaddr*>(&from), len);
  }
};

TEST(Probes, DirectUdpGetsTheAnswer) {
  LoopbackResolver r;
  std::thread t([&] { r.answer_once(); });
  const auto res = direct_probe("p.example", *IpAddress::parse("127.0.0.1"), ProbeKind::DirectUdp, 2000ms, r.port);
  t.join();
  EXPECT_TRUE(res.answered) << res.error;
  EXPECT_EQ(res.rcode, 3);
}

TEST(Probes, DirectAaaaProbeRecordsItsType) {
  LoopbackResolver r;
  std::thread t([&] { r.answer_once(); });
  const auto res = direct_probe("p.example", *IpAddress::parse("127.0.0.1"), ProbeKind::DirectUdp, 2000ms, r.port, 28);
  t.join();
  EXPECT_TRUE(res.answered) << res.error;
  EXPECT_EQ(res.qtype, 28);
  EXPECT_EQ(r.last_qtype, 28);
}

TEST(Probes, SilentResolverTimesOutWithinTheBound) {
  LoopbackResolver r;
  const auto start = std::chrono::steady_clock::now();
  const auto res = direct_probe("p.example", *IpAddress::parse("127.0.0.1"), ProbeKind::DirectUdp, 200ms, r.port);
  EXPECT_FALSE(res.answered);
  EXPECT_NE(res.error.find("no reply within 200 ms"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(Probes, TcpToAClosedPortFails) {
  LoopbackResolver r;  // a UDP port: nothing listens on TCP there
  const auto res = direct_probe("p.example", *IpAddress::parse("127.0.0.1"), ProbeKind::DirectTcp, 500ms, r.port);
  EXPECT_FALSE(res.answered);
  EXPECT_FALSE(res.error.empty());
}

}  // namespace
}  // namespace dnsfence::detector
