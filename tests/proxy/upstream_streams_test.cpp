// UpstreamStreams against a scripted upstream on loopback: queries share one connection until it
// holds kPerConnection, answers come back in any order, at most kPerTarget connections per
// server, a closed connection's queries are sent once more, idle connections close. And
// UpstreamSockets: a fresh port every kQueriesPerSocket queries, retired sockets closed once done.

#include "proxy/upstream_streams.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <set>

#include "dns/testing_packets.hpp"
#include "proxy/upstream_sockets.hpp"

namespace dnsfence::proxy {
namespace {

constexpr std::uint8_t kKind = 7;

struct Owner : StreamOwner {
  InflightTable* table = nullptr;
  UpstreamStreams* streams = nullptr;
  std::map<std::uint32_t, int> answers_by_conn;
  std::set<std::uint16_t> answered_ids;
  std::vector<std::uint32_t> lost;
  void on_stream_answer(std::uint32_t conn, std::span<std::uint8_t> a) noexcept override {
    ++answers_by_conn[conn];
    const auto id = static_cast<std::uint16_t>((a[0] << 8) | a[1]);
    answered_ids.insert(id);
    if (auto s = table->find(id)) {
      streams->forget(*s);
      table->release(*s);
    }
  }
  void on_stream_lost(std::uint32_t slot) noexcept override { lost.push_back(slot); }
};

// A scripted upstream: accepts, reads framed queries, and answers or closes as told.
struct Upstream {
  io::Fd listener;
  common::SocketAddress address;
  std::vector<io::Fd> conns;
  std::vector<std::vector<std::uint8_t>> pending;  // per connection: bytes read
  Upstream() {
    listener = std::move(*io::open_tcp_listener(common::SocketAddress(*common::IpAddress::parse("127.0.0.1"), 0), {}));
    address = *io::local_address(listener.get());
  }
  void accept_all() {
    for (;;) {
      io::Fd c(accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!c.valid()) return;
      conns.push_back(std::move(c));
      pending.emplace_back();
    }
  }
  // Complete queries read so far, per connection.
  std::vector<std::vector<std::vector<std::uint8_t>>> read_queries() {
    accept_all();
    std::vector<std::vector<std::vector<std::uint8_t>>> out(conns.size());
    for (std::size_t i = 0; i < conns.size(); ++i) {
      std::array<std::uint8_t, 65536> buf{};
      for (ssize_t n = 0; conns[i].valid() && (n = recv(conns[i].get(), buf.data(), buf.size(), MSG_DONTWAIT)) > 0;)
        pending[i].insert(pending[i].end(), buf.begin(), buf.begin() + n);
      std::size_t offset = 0;
      while (auto m = io::next_message(pending[i], offset)) out[i].emplace_back(m->begin(), m->end());
      pending[i].erase(pending[i].begin(), pending[i].begin() + static_cast<std::ptrdiff_t>(offset));
    }
    return out;
  }
  static void answer(int fd, const std::vector<std::uint8_t>& query) {
    std::vector<std::uint8_t> a = query;
    a[2] |= 0x80;  // QR
    std::vector<std::uint8_t> f(2 + a.size());
    f[0] = static_cast<std::uint8_t>(a.size() >> 8);
    f[1] = static_cast<std::uint8_t>(a.size());
    std::copy(a.begin(), a.end(), f.begin() + 2);
    ASSERT_EQ(send(fd, f.data(), f.size(), MSG_NOSIGNAL), static_cast<ssize_t>(f.size()));
  }
};

class StreamsTest : public ::testing::Test {
 protected:
  StreamsTest() : streams_(poller_, kKind, table_, owner_) {
    owner_.table = &table_;
    owner_.streams = &streams_;
  }
  // A slot asking www.example A of the upstream; returns it after sending its query.
  std::optional<std::uint32_t> ask(std::uint64_t random) {
    auto s = table_.acquire(random, now_, now_ + 1'000'000'000);
    Slot& slot = table_[*s];
    slot.kind = SlotKind::Tcp;
    auto q = dns::testing::query("www.example", 1, 1232);
    store_question(slot, *dns::parse(q));
    q[0] = static_cast<std::uint8_t>(slot.upstream_id >> 8);
    q[1] = static_cast<std::uint8_t>(slot.upstream_id);
    if (!streams_.send(*s, upstream_.address, q, now_)) {
      table_.release(*s);
      return std::nullopt;
    }
    return s;
  }
  void turn() {
    std::array<epoll_event, 64> events{};
    const int n = poller_.wait(events, 5);
    for (int i = 0; i < n; ++i) streams_.on_event(io::tag_index(events[i].data.u64), events[i].events, now_);
  }
  bool pump_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      turn();
    }
    return true;
  }
  std::size_t queries_seen(const std::vector<std::vector<std::vector<std::uint8_t>>>& q) {
    std::size_t n = 0;
    for (const auto& c : q) n += c.size();
    return n;
  }

  io::Poller poller_;
  InflightTable table_{1000};
  Owner owner_;
  UpstreamStreams streams_;
  Upstream upstream_;
  std::int64_t now_ = 1'000'000'000'000;
};

TEST_F(StreamsTest, QueriesShareOneConnectionAndAnswersComeInAnyOrder) {
  for (std::uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(ask(i * 0x9e3779b97f4a7c15ULL + 1));
  EXPECT_EQ(streams_.open(), 1U);
  std::vector<std::vector<std::vector<std::uint8_t>>> seen;
  ASSERT_TRUE(pump_until([&] {
    auto q = upstream_.read_queries();
    for (std::size_t i = 0; i < q.size(); ++i) {
      if (seen.size() <= i) seen.resize(i + 1);
      seen[i].insert(seen[i].end(), q[i].begin(), q[i].end());
    }
    return queries_seen(seen) == 10;
  }));
  ASSERT_EQ(upstream_.conns.size(), 1U);
  for (std::size_t i = 10; i-- > 0;) Upstream::answer(upstream_.conns[0].get(), seen[0][i]);
  ASSERT_TRUE(pump_until([&] { return owner_.answered_ids.size() == 10; }));
  EXPECT_EQ(streams_.outstanding(0), 0U);
  EXPECT_EQ(table_.size(), 0U);
  // Reused for the next query: no new connection.
  ASSERT_TRUE(ask(77));
  EXPECT_EQ(streams_.open(), 1U);
}

TEST_F(StreamsTest, OpensAnotherConnectionOnlyWhenOneIsFullAndCapsThePerServerCount) {
  for (std::uint32_t i = 0; i < UpstreamStreams::kPerConnection; ++i) ASSERT_TRUE(ask(i * 0x9e3779b97f4a7c15ULL + 3));
  EXPECT_EQ(streams_.open(), 1U);
  ASSERT_TRUE(ask(4242));
  EXPECT_EQ(streams_.open(), 2U);  // the first one holds its share
  const std::uint32_t most = UpstreamStreams::kPerTarget * UpstreamStreams::kPerConnection;
  for (std::uint32_t i = UpstreamStreams::kPerConnection + 1; i < most + 100; ++i)
    ASSERT_TRUE(ask(i * 0x9e3779b97f4a7c15ULL + 3)) << i;
  EXPECT_EQ(streams_.open(), UpstreamStreams::kPerTarget);  // beyond: shared, no fifth connection
  for (std::uint32_t c = 0; c < UpstreamStreams::kPerTarget; ++c) EXPECT_EQ(streams_.outstanding(c), 125U);
}

TEST_F(StreamsTest, QueriesOfAClosedConnectionAreSentOnceMoreThenLost) {
  for (std::uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(ask(i * 0x9e3779b97f4a7c15ULL + 5));
  ASSERT_TRUE(pump_until([&] { return queries_seen(upstream_.read_queries()) > 0 || upstream_.conns.size() == 1; }));
  ASSERT_TRUE(pump_until([&] { return !upstream_.read_queries().empty(); }));
  upstream_.conns[0].reset();  // the server closes with 5 queries unanswered
  ASSERT_TRUE(pump_until([&] { return upstream_.read_queries().size() == 2; }));  // reconnected
  std::size_t resent = 0;
  ASSERT_TRUE(pump_until([&] {
    resent += upstream_.read_queries()[1].size();
    return resent == 5;
  }));
  EXPECT_TRUE(owner_.lost.empty());
  upstream_.conns[1].reset();  // and again: no third attempt
  ASSERT_TRUE(pump_until([&] { return owner_.lost.size() == 5; }));
  EXPECT_EQ(streams_.open(), 0U);
}

TEST_F(StreamsTest, IdleConnectionsClose) {
  auto s = ask(99);
  ASSERT_TRUE(s);
  ASSERT_TRUE(pump_until([&] { return !upstream_.read_queries().empty() && upstream_.conns.size() == 1; }));
  streams_.forget(*s);
  table_.release(*s);
  streams_.tick(now_ + UpstreamStreams::kIdleNs / 2);
  EXPECT_EQ(streams_.open(), 1U);
  streams_.tick(now_ + UpstreamStreams::kIdleNs + 1);
  EXPECT_EQ(streams_.open(), 0U);
}

TEST(UpstreamSockets, AFreshPortEveryFewQueriesAndRetiredSocketsCloseWhenDone) {
  io::Poller poller;
  UpstreamSockets sockets(poller, kKind);
  ASSERT_EQ(sockets.open(), 0);
  std::set<std::uint16_t> ports;
  std::vector<std::uint16_t> used;
  for (std::uint32_t i = 0; i < 10 * UpstreamSockets::kQueriesPerSocket; ++i) {
    const auto s = sockets.take(0, false);
    ASSERT_TRUE(s);
    used.push_back(*s);
    ports.insert(io::local_address(sockets.fd(*s))->port());
  }
  EXPECT_EQ(ports.size(), 10U);  // one port per kQueriesPerSocket queries
  const std::size_t open = sockets.open_count();
  EXPECT_GE(open, 10U);  // retired ones wait for their queries
  for (const auto s : used) sockets.done(s);
  EXPECT_EQ(sockets.open_count(), open - 9);           // all but the current one closed
  EXPECT_EQ(sockets.take(0, true).has_value(), true);  // pass-through queries: a socket of their own
}

}  // namespace
}  // namespace dnsfence::proxy
