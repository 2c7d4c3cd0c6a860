// io/frame: the 2-octet framing, the bytes kept between reads (and released once large), the
// output queue; and io::ClientLimit's exact per-address counts.

#include "io/frame.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "io/client_limit.hpp"
#include "io/socket.hpp"

namespace dnsfence::io {
namespace {

TEST(NextMessage, SplitsFramesAndStopsAtAnIncompleteOne) {
  std::vector<std::uint8_t> data = {0, 2, 'a', 'b', 0, 0, 0, 3, 'x'};
  std::size_t offset = 0;
  auto m = next_message(data, offset);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size(), 2U);
  m = next_message(data, offset);
  ASSERT_TRUE(m);  // an empty message is a message
  EXPECT_TRUE(m->empty());
  EXPECT_FALSE(next_message(data, offset));
  EXPECT_EQ(offset, 6U);
}

TEST(StreamIn, KeepsOnlyTheRestAndReleasesALargeBuffer) {
  StreamIn in;
  std::vector<std::uint8_t> scratch(kScratchSize);
  EXPECT_EQ(in.restore(scratch), 0U);
  const std::vector<std::uint8_t> big(40000, 7);
  ASSERT_TRUE(in.keep(big));
  EXPECT_GE(in.capacity(), big.size());
  EXPECT_EQ(in.restore(scratch), big.size());
  ASSERT_TRUE(in.keep({}));
  EXPECT_EQ(in.capacity(), 0U);  // a large buffer is not kept once empty
  const std::vector<std::uint8_t> done = {0, 1, 9};
  ASSERT_TRUE(in.keep(done));
  EXPECT_TRUE(in.has_message());
}

TEST(StreamOut, SendsAtOnceQueuesWhatTheSocketRefusesAndShrinksBack) {
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair), 0);
  Fd a(pair[0]);
  Fd b(pair[1]);
  StreamOut out;
  const std::vector<std::uint8_t> small = {1, 2, 3};
  EXPECT_EQ(out.send(a.get(), small), IoStatus::Ok);
  EXPECT_EQ(out.queued(), 0U);
  const std::vector<std::uint8_t> big(65535, 4);
  IoStatus s = IoStatus::Ok;
  for (int i = 0; i < 64 && s == IoStatus::Ok; ++i) s = out.send(a.get(), big);
  ASSERT_EQ(s, IoStatus::Again);
  EXPECT_GT(out.queued(), 0U);
  std::vector<std::uint8_t> sink(1 << 20);
  std::size_t got = 0;
  while (out.flush(a.get()) == IoStatus::Again) {
    const ssize_t n = read(b.get(), sink.data(), sink.size());
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  EXPECT_EQ(out.queued(), 0U);
  EXPECT_EQ(out.capacity(), 0U);
  EXPECT_EQ(out.written(),
            got + static_cast<std::size_t>(std::max<ssize_t>(0, read(b.get(), sink.data(), sink.size()))));
  b.reset();
  EXPECT_EQ(out.send(a.get(), small), IoStatus::Error);
}

TEST(ClientLimit, CountsExactlyPerAddress) {
  ClientLimit limit(2, 16);
  const auto a = *common::IpAddress::parse("192.0.2.1");
  const auto b = *common::IpAddress::parse("2001:db8::1");
  EXPECT_TRUE(limit.acquire(a));
  EXPECT_TRUE(limit.acquire(a));
  EXPECT_FALSE(limit.acquire(a));
  EXPECT_TRUE(limit.acquire(b));
  limit.release(a);
  EXPECT_TRUE(limit.acquire(a));
  EXPECT_EQ(limit.count(a), 2U);
  EXPECT_EQ(limit.count(b), 1U);
  // Many addresses in and out: deletion keeps every other address findable.
  for (int round = 0; round < 3; ++round) {
    for (std::uint8_t i = 1; i < 30; ++i)
      ASSERT_TRUE(limit.acquire(common::IpAddress::parse("10.0.0." + std::to_string(i)).value()));
    for (std::uint8_t i = 1; i < 30; i += 2)
      limit.release(common::IpAddress::parse("10.0.0." + std::to_string(i)).value());
    for (std::uint8_t i = 2; i < 30; i += 2)
      EXPECT_EQ(limit.count(common::IpAddress::parse("10.0.0." + std::to_string(i)).value()), 1U);
    for (std::uint8_t i = 2; i < 30; i += 2)
      limit.release(common::IpAddress::parse("10.0.0." + std::to_string(i)).value());
  }
  EXPECT_EQ(limit.count(a), 2U);
}

}  // namespace
}  // namespace dnsfence::io
