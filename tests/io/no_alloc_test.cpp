// Proves DNS over TCP allocates nothing per message once a connection is warm: io::TcpServer reads
// pipelined queries, hands them to the handler, and writes the answers, with the global operator
// new counting (its own binary: tests/alloc_counter.hpp replaces operator new).

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "alloc_counter.hpp"

#include <array>
#include <vector>

#include "io/tcp_server.hpp"

namespace dnsfence::io {
namespace {

struct Echo : TcpHandler {
  TcpServer* server = nullptr;
  int seen = 0;
  void on_message(TcpConnRef ref, const TcpConnInfo&, std::span<std::uint8_t> m) noexcept override {
    ++seen;
    server->reply(ref, m);
  }
};

TEST(NoAllocation, TcpMessagesAndAnswersAllocateNothing) {
  Poller poller;
  Echo echo;
  TcpServer server(poller, echo, {}, 1, 2);
  echo.server = &server;
  auto listener = open_tcp_listener(common::SocketAddress(*common::IpAddress::parse("127.0.0.1"), 0), {});
  ASSERT_TRUE(listener);
  const auto address = *local_address(listener->get());
  server.add_listener(std::move(*listener), false);
  Fd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(connect(client.get(), address.sockaddr_ptr(), address.sockaddr_len()), 0);
  std::vector<std::uint8_t> burst;
  for (int i = 0; i < 50; ++i) {
    const std::array<std::uint8_t, 31> m{};  // a query's size; content does not matter here
    burst.push_back(0);
    burst.push_back(static_cast<std::uint8_t>(m.size()));
    burst.insert(burst.end(), m.begin(), m.end());
  }
  std::array<epoll_event, 16> events{};
  std::array<std::uint8_t, 65536> sink{};
  auto round = [&] {
    const int before = echo.seen;
    ASSERT_EQ(send(client.get(), burst.data(), burst.size(), 0), static_cast<ssize_t>(burst.size()));
    std::size_t got = 0;
    while (echo.seen < before + 50 || got < burst.size()) {
      const int n = poller.wait(events, 100);
      for (int i = 0; i < n; ++i) {
        const auto t = events[i].data.u64;
        if (tag_kind(t) == 1) server.on_listener(tag_index(t));
        if (tag_kind(t) == 2) server.on_connection(tag_index(t), events[i].events);
      }
      server.run_deferred();
      const ssize_t r = recv(client.get(), sink.data(), sink.size(), MSG_DONTWAIT);
      if (r > 0) got += static_cast<std::size_t>(r);
    }
  };
  round();  // accepts the connection (which allocates its slot once)
  dnsfence::testing::alloc_counting = true;
  for (int i = 0; i < 20; ++i) round();
  dnsfence::testing::alloc_counting = false;
  EXPECT_EQ(dnsfence::testing::allocations.load(), 0);
  EXPECT_EQ(echo.seen, 21 * 50);
}

}  // namespace
}  // namespace dnsfence::io
