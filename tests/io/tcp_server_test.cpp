// io::TcpServer with scripted peers on loopback: partial frames, pipelining, the per-connection
// pending cap, half-close, reset, a client that does not read, the per-client cap, the
// connection cap (the listener pauses), lifetimes, idle time shortened under pressure, a trickle
// that must not count as activity, and EMFILE on accept. Time is the test's: the server only
// sees what set_now()/tick() tell it. Events are real; each wait is bounded by a deadline.

#include "io/tcp_server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <vector>

namespace dnsfence::io {
namespace {

constexpr std::uint8_t kListener = 1;
constexpr std::uint8_t kConn = 2;
constexpr std::int64_t kSecond = 1'000'000'000;

struct Recorder : TcpHandler {
  struct Got {
    TcpConnRef ref;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<Got> messages;
  std::map<TcpClose, int> closed;
  int refused = 0;
  int paused_full = 0;
  int paused_fds = 0;
  std::function<void(TcpConnRef, std::span<std::uint8_t>)> answer;  // null: hold every message

  void on_message(TcpConnRef ref, const TcpConnInfo&, std::span<std::uint8_t> m) noexcept override {
    messages.push_back({ref, {m.begin(), m.end()}});
    if (answer) answer(ref, m);
  }
  void on_closed(TcpClose r) noexcept override { ++closed[r]; }
  void on_refused() noexcept override { ++refused; }
  void on_paused(TcpPause why) noexcept override { ++(why == TcpPause::Full ? paused_full : paused_fds); }
};

std::vector<std::uint8_t> frame(std::span<const std::uint8_t> m) {
  std::vector<std::uint8_t> f(2 + m.size());
  f[0] = static_cast<std::uint8_t>(m.size() >> 8);
  f[1] = static_cast<std::uint8_t>(m.size());
  std::copy(m.begin(), m.end(), f.begin() + 2);
  return f;
}
std::vector<std::uint8_t> message(std::uint8_t n, std::size_t size = 12) {
  return std::vector<std::uint8_t>(size, n);
}

class TcpServerTest : public ::testing::Test {
 protected:
  void start(TcpLimits limits, ClientLimit* clients = nullptr) {
    server_ = std::make_unique<TcpServer>(poller_, handler_, limits, kListener, kConn, clients);
    auto fd = open_tcp_listener(common::SocketAddress(*common::IpAddress::parse("127.0.0.1"), 0), {}, 64);
    ASSERT_TRUE(fd.has_value());
    address_ = *local_address(fd->get());
    server_->set_now(now_);
    server_->add_listener(std::move(*fd), false);
  }
  // One loop turn, as an owner's loop does it; counts events per kind.
  void turn(int timeout_ms = 5) {
    std::array<epoll_event, 64> events{};
    server_->set_now(now_);
    const int n = poller_.wait(events, timeout_ms);
    for (int i = 0; i < n; ++i) {
      const auto t = events[i].data.u64;
      if (tag_kind(t) == kListener) {
        ++listener_events_;
        server_->on_listener(tag_index(t));
      } else {
        ++connection_events_;
        server_->on_connection(tag_index(t), events[i].events);
      }
    }
    server_->run_deferred();
  }
  bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      turn();
    }
    return true;
  }
  void advance(std::int64_t ns) {
    now_ += ns;
    server_->tick(now_);
  }
  // A non-blocking client connected (handshake done by the kernel, accepted or not).
  Fd client(const char* from = nullptr) {
    Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (from != nullptr) {
      const common::SocketAddress local(*common::IpAddress::parse(from), 0);
      EXPECT_EQ(bind(fd.get(), local.sockaddr_ptr(), local.sockaddr_len()), 0);
    }
    connect(fd.get(), address_.sockaddr_ptr(), address_.sockaddr_len());
    pollfd p{fd.get(), POLLOUT, 0};
    EXPECT_EQ(poll(&p, 1, 5000), 1);
    return fd;
  }
  static void write_all(int fd, std::span<const std::uint8_t> data) {
    while (!data.empty()) {
      const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      data = data.subspan(static_cast<std::size_t>(n));
    }
  }
  // Reads what is there now: bytes appended to `into`; false at end of stream or reset.
  static bool read_now(int fd, std::vector<std::uint8_t>& into) {
    std::array<std::uint8_t, 65536> buf{};
    for (;;) {
      const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) {
        into.insert(into.end(), buf.begin(), buf.begin() + n);
        continue;
      }
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }
  static std::size_t frames_in(std::vector<std::uint8_t> data) {
    std::size_t offset = 0;
    std::size_t n = 0;
    while (next_message(data, offset)) ++n;
    return n;
  }

  Poller poller_;
  Recorder handler_;
  std::unique_ptr<ClientLimit> limit_ = std::make_unique<ClientLimit>(2, 100);  // outlives server_
  std::unique_ptr<TcpServer> server_;
  common::SocketAddress address_;
  std::int64_t now_ = 1000 * kSecond;
  int listener_events_ = 0;
  int connection_events_ = 0;
};

TEST_F(TcpServerTest, AssemblesAMessageSentOneOctetAtATime) {
  start({});
  Fd c = client();
  const auto f = frame(message(7, 40));
  for (const std::uint8_t b : f) {
    write_all(c.get(), std::span(&b, 1));
    turn(1);
  }
  ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 1; }));
  EXPECT_EQ(handler_.messages[0].bytes, message(7, 40));
}

TEST_F(TcpServerTest, AnswersPipelinedMessagesInAnyOrder) {
  start({});
  Fd c = client();
  std::vector<std::uint8_t> all;
  for (std::uint8_t i = 0; i < 10; ++i) {
    const auto f = frame(message(i));
    all.insert(all.end(), f.begin(), f.end());
  }
  write_all(c.get(), all);
  ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 10; }));
  for (std::size_t i = 10; i-- > 0;) EXPECT_TRUE(server_->reply(handler_.messages[i].ref, handler_.messages[i].bytes));
  std::vector<std::uint8_t> got;
  ASSERT_TRUE(pump_until([&] { return read_now(c.get(), got) && frames_in(got) == 10; }));
  std::size_t offset = 0;
  EXPECT_EQ(next_message(got, offset)->front(), 9);  // the last answered first
}

TEST_F(TcpServerTest, StopsReadingAtMaxPendingAndResumesAsAnswersLeave) {
  start({.max_pending = 3});
  Fd c = client();
  std::vector<std::uint8_t> all;
  for (std::uint8_t i = 0; i < 10; ++i) {
    const auto f = frame(message(i));
    all.insert(all.end(), f.begin(), f.end());
  }
  write_all(c.get(), all);
  ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 3; }));
  for (int i = 0; i < 20; ++i) turn(1);
  EXPECT_EQ(handler_.messages.size(), 3U);  // no fourth while three wait
  server_->finish(handler_.messages[0].ref);
  ASSERT_TRUE(server_->reply(handler_.messages[1].ref, message(1)));
  ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 5; }));
  for (int i = 0; i < 20; ++i) turn(1);
  EXPECT_EQ(handler_.messages.size(), 5U);
  EXPECT_EQ(handler_.messages[4].bytes, message(4));  // in order, none lost
}

TEST_F(TcpServerTest, HalfClosedConnectionLeavesTheReadInterestAndGetsItsAnswers) {
  start({});
  Fd c = client();
  auto f = frame(message(1));
  auto g = frame(message(2));
  f.insert(f.end(), g.begin(), g.end());
  write_all(c.get(), f);
  ASSERT_EQ(shutdown(c.get(), SHUT_WR), 0);
  ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 2; }));
  for (int i = 0; i < 5; ++i) turn(1);
  const int before = connection_events_;
  for (int i = 0; i < 200; ++i) turn(0);  // level-triggered EPOLLIN/EPOLLRDHUP would fire each time
  EXPECT_LE(connection_events_ - before, 1);
  EXPECT_EQ(server_->open(), 1U);
  ASSERT_TRUE(server_->reply(handler_.messages[1].ref, message(2)));
  ASSERT_TRUE(server_->reply(handler_.messages[0].ref, message(1)) || handler_.closed[TcpClose::Eof] == 1);
  std::vector<std::uint8_t> got;
  ASSERT_TRUE(pump_until([&] { return !read_now(c.get(), got); }));  // end of stream after both
  EXPECT_EQ(frames_in(got), 2U);
  EXPECT_EQ(handler_.closed[TcpClose::Eof], 1);
  EXPECT_EQ(server_->open(), 0U);
}

TEST_F(TcpServerTest, ResetConnectionClosesAtOnceAndLateAnswersGoNowhere) {
  start({});
  {
    Fd c = client();
    write_all(c.get(), frame(message(1)));
    ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 1; }));
    const linger hard{1, 0};
    setsockopt(c.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }  // closed with RST
  ASSERT_TRUE(pump_until([&] { return handler_.closed[TcpClose::Reset] == 1; }));
  EXPECT_FALSE(server_->reply(handler_.messages[0].ref, message(1)));
  EXPECT_EQ(server_->open(), 0U);
}

TEST_F(TcpServerTest, ClientThatDoesNotReadIsNotReadAndIsClosedPastTheQueueLimit) {
  start({.max_pending = 1000, .max_queued = 256 * 1024});
  Fd c = client();
  const int small = 4096;
  setsockopt(c.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::vector<std::uint8_t> all;
  for (int i = 0; i < 200; ++i) {
    const auto f = frame(message(static_cast<std::uint8_t>(i)));
    all.insert(all.end(), f.begin(), f.end());
  }
  write_all(c.get(), all);
  ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 200; }));
  // Big answers until the kernel's buffers are full and serve's queue passes the limit.
  const std::vector<std::uint8_t> big(60000, 0xab);
  std::size_t answered = 0;
  while (answered < handler_.messages.size() && server_->reply(handler_.messages[answered].ref, big)) ++answered;
  EXPECT_EQ(handler_.closed[TcpClose::Overflow], 1);
  EXPECT_LT(answered, 200U);
}

TEST_F(TcpServerTest, StalledReaderIsClosedAfterTheIdleTime) {
  start({.max_pending = 1000, .max_queued = 64 << 20, .idle_ns = 2 * kSecond});
  Fd c = client();
  const int small = 4096;
  setsockopt(c.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  auto pipeline = [&](int n) {
    std::vector<std::uint8_t> all;
    for (int i = 0; i < n; ++i) {
      const auto f = frame(message(static_cast<std::uint8_t>(i)));
      all.insert(all.end(), f.begin(), f.end());
    }
    write_all(c.get(), all);
  };
  pipeline(100);
  ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 100; }));
  const std::vector<std::uint8_t> big(60000, 0xcd);
  for (std::size_t i = 0; i < 100; ++i) ASSERT_TRUE(server_->reply(handler_.messages[i].ref, big));
  pipeline(50);
  for (int i = 0; i < 20; ++i) turn(1);
  EXPECT_EQ(handler_.messages.size(), 100U);  // answers wait for the client: it is not read
  advance(kSecond);
  EXPECT_EQ(server_->open(), 1U);
  advance(1500'000'000);
  EXPECT_EQ(handler_.closed[TcpClose::Stalled], 1);
}

TEST_F(TcpServerTest, PerClientCapRefusesTheExtraConnectionOnly) {
  ClientLimit& limit = *limit_;
  start({}, &limit);
  Fd a = client("127.0.0.1");
  Fd b = client("127.0.0.1");
  ASSERT_TRUE(pump_until([&] { return server_->open() == 2; }));
  Fd c = client("127.0.0.1");
  ASSERT_TRUE(pump_until([&] { return handler_.refused == 1; }));
  std::vector<std::uint8_t> got;
  ASSERT_TRUE(pump_until([&] { return !read_now(c.get(), got); }));  // closed at once
  Fd d = client("127.0.0.2");
  ASSERT_TRUE(pump_until([&] { return server_->open() == 3; }));
  EXPECT_EQ(limit.count(*common::IpAddress::parse("127.0.0.1")), 2U);
  a.reset();
  ASSERT_TRUE(pump_until([&] { return limit.count(*common::IpAddress::parse("127.0.0.1")) == 1; }));
}

TEST_F(TcpServerTest, ListenerPausesAtTheCapAndTheWaitingClientIsServedWhenRoomFrees) {
  start({.max_connections = 2});
  Fd a = client();
  Fd b = client();
  ASSERT_TRUE(pump_until([&] { return server_->open() == 2; }));
  EXPECT_TRUE(server_->paused());
  EXPECT_EQ(handler_.paused_full, 1);
  Fd c = client();  // completes in the kernel's backlog
  write_all(c.get(), frame(message(3)));
  for (int i = 0; i < 20; ++i) turn(1);
  EXPECT_EQ(server_->open(), 2U);
  EXPECT_TRUE(handler_.messages.empty());
  a.reset();
  ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == 1; }));
  EXPECT_EQ(handler_.messages[0].bytes, message(3));
  EXPECT_EQ(server_->open(), 2U);
  EXPECT_EQ(handler_.paused_full, 2);  // resumed when `a` left, full again with `c`
}

TEST_F(TcpServerTest, LifetimeEndsEvenABusyConnection) {
  start({.idle_ns = 10 * kSecond, .lifetime_ns = 30 * kSecond});
  handler_.answer = [&](TcpConnRef r, std::span<std::uint8_t> m) { server_->reply(r, m); };
  Fd c = client();
  for (int i = 0; i < 4; ++i) {
    write_all(c.get(), frame(message(1)));
    ASSERT_TRUE(pump_until([&] { return handler_.messages.size() == static_cast<std::size_t>(i + 1); }));
    advance(8 * kSecond);
  }
  EXPECT_EQ(server_->open(), 0U);
  EXPECT_EQ(handler_.closed[TcpClose::Lifetime], 1);
}

TEST_F(TcpServerTest, ATrickleOfOctetsIsNotActivity) {
  start({.idle_ns = 2 * kSecond});
  Fd c = client();
  ASSERT_TRUE(pump_until([&] { return server_->open() == 1; }));
  const std::array<std::uint8_t, 4> header = {0, 200, 0, 0};  // a 200-octet message, never completed
  for (const std::uint8_t b : header) {
    write_all(c.get(), std::span(&b, 1));
    turn(1);
    advance(kSecond - 1);
  }
  EXPECT_EQ(handler_.closed[TcpClose::Idle], 1);
}

TEST_F(TcpServerTest, IdleTimeShrinksAsTheServerFills) {
  start({.max_connections = 10, .idle_ns = 10 * kSecond});
  std::vector<Fd> held;
  held.push_back(client());
  ASSERT_TRUE(pump_until([&] { return server_->open() == 1; }));
  EXPECT_EQ(server_->idle_ns(), 10 * kSecond);
  for (int i = 0; i < 5; ++i) held.push_back(client());
  ASSERT_TRUE(pump_until([&] { return server_->open() == 6; }));
  EXPECT_EQ(server_->idle_ns(), 200'000'000);  // 10 s / 100 = 100 ms, never under 200 ms
  advance(300'000'000);
  EXPECT_EQ(handler_.closed[TcpClose::Idle], 6);
}

TEST_F(TcpServerTest, OutOfDescriptorsPausesTheListenerInsteadOfSpinning) {
  start({.accept_pause_ns = kSecond});
  // One connection accepted while descriptors are plenty (so the handler's first virtual call is
  // behind us: UBSan's vptr check needs a descriptor of its own the first time it sees a type).
  std::vector<Fd> held;
  held.push_back(client());
  ASSERT_TRUE(pump_until([&] { return server_->open() == 1; }));
  for (int i = 0; i < 3; ++i) held.push_back(client());
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  const int probe = dup(0);
  close(probe);
  rlimit low = old;
  low.rlim_cur = static_cast<rlim_t>(probe);  // no room for another descriptor
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  ASSERT_TRUE(pump_until([&] { return handler_.paused_fds >= 1; }));
  const int before = listener_events_;
  for (int i = 0; i < 200; ++i) turn(0);
  const int spins = listener_events_ - before;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_EQ(spins, 0);
  EXPECT_EQ(server_->open(), 1U);
  EXPECT_EQ(server_->idle_ns(), 200'000'000);  // out of descriptors counts as full
  advance(kSecond + 1);
  ASSERT_TRUE(pump_until([&] { return server_->open() == 4; }));
}

}  // namespace
}  // namespace dnsfence::io
