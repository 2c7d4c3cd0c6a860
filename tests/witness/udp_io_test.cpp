// UdpIo against real loopback sockets: batches, short batches, whole large datagrams, and replies
// that leave from the address each query was sent to, to the right peer, in order.
#include "witness/udp_io.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include "io/socket.hpp"

namespace dnsfence::witness {
namespace {

struct Pair {
  io::Fd server;
  io::Fd client;
  common::SocketAddress server_address;
  common::SocketAddress client_address;
};

Pair open_pair() {
  const common::SocketAddress any(*common::IpAddress::parse("127.0.0.1"), 0);
  auto server = io::open_udp(any, {});
  auto client = io::open_udp(any, {});
  EXPECT_TRUE(server && client);
  EXPECT_TRUE(io::enable_pktinfo(server->get(), AF_INET));
  const auto s = io::local_address(server->get());
  const auto c = io::local_address(client->get());
  EXPECT_TRUE(s && c);
  return Pair{std::move(*server), std::move(*client), *s, *c};
}

// Loopback delivery is complete when sendto returns: the datagram is already queued.
void send(const Pair& p, const std::string& text) {
  ASSERT_EQ(sendto(p.client.get(), text.data(), text.size(), 0, p.server_address.sockaddr_ptr(),
                   p.server_address.sockaddr_len()),
            static_cast<ssize_t>(text.size()));
}

std::string text(std::span<const std::uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

TEST(UdpIo, ReceivesWhatWaitsAndRepliesFromTheAddressAsked) {
  Pair p = open_pair();
  UdpIo io;
  EXPECT_EQ(io.receive(p.server.get()), 0U);  // nothing waiting
  for (const std::string q : {"a", "bb", "ccc"}) send(p, q);
  ASSERT_EQ(io.receive(p.server.get()), 3U);  // a short batch: all that waited
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(io.valid(i));
    EXPECT_EQ(io.peer(i), p.client_address);
    EXPECT_TRUE(io.local(i).known);
    EXPECT_EQ(io.local(i).address, p.server_address.ip());
    const std::string reply = "re:" + text(io.query(i));
    std::memcpy(io.reply_buffer(i).data(), reply.data(), reply.size());
    io.queue_reply(i, reply.size());
  }
  io.flush(p.server.get());
  for (const std::string want : {"re:a", "re:bb", "re:ccc"}) {
    std::array<char, 64> buf{};
    common::SocketAddress from;
    socklen_t len = common::SocketAddress::kCapacity;
    const ssize_t n = recvfrom(p.client.get(), buf.data(), buf.size(), MSG_DONTWAIT,
                               static_cast<sockaddr*>(from.kernel_storage()), &len);
    ASSERT_GT(n, 0);
    ASSERT_TRUE(from.adopt(len));
    EXPECT_EQ(std::string(buf.data(), static_cast<std::size_t>(n)), want);
    EXPECT_EQ(from, p.server_address);
  }
  EXPECT_EQ(io.receive(p.server.get()), 0U);
}

TEST(UdpIo, FullBatchesThenTheRest) {
  Pair p = open_pair();
  UdpIo io;
  for (std::size_t i = 0; i < kUdpSlots + 2; ++i) send(p, std::to_string(i));
  ASSERT_EQ(io.receive(p.server.get()), kUdpSlots);
  EXPECT_EQ(text(io.query(0)), "0");
  ASSERT_EQ(io.receive(p.server.get()), 2U);
  EXPECT_EQ(text(io.query(1)), std::to_string(kUdpSlots + 1));
}

TEST(UdpIo, LargeDatagramsArriveWhole) {
  Pair p = open_pair();
  UdpIo io;
  const std::string big(9000, 'x');
  send(p, big);
  send(p, "small");
  ASSERT_EQ(io.receive(p.server.get()), 2U);
  EXPECT_EQ(io.query(0).size(), big.size());
  EXPECT_EQ(text(io.query(1)), "small");
}

}  // namespace
}  // namespace dnsfence::witness
