// Shared plumbing of the two floor programs (floor_relay, floor_reflector): addresses, sockets,
// signal handling and a recvmmsg/sendmmsg batch. Deliberately no dnsfence code and no DNS parsing:
// these programs are the yardstick that dnsfence serve is measured against (bench/README.md).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace dnsfence::bench {

/// Messages per recvmmsg/sendmmsg call.
inline constexpr unsigned kBatch = 64;
/// Receive buffer per message: a UDP DNS message up to a common EDNS size.
inline constexpr std::size_t kBufferSize = 4096;
/// Every DNS message starts with a 12-byte header; anything shorter is dropped.
inline constexpr std::size_t kHeaderSize = 12;

/// An IPv4 or IPv6 socket address, small enough for a 64 Ki-entry table.
struct Endpoint {
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr{};
  socklen_t len = 0;
};

/// Parses "A.B.C.D:PORT" or "[V6]:PORT"; nullopt on any syntax error.
inline std::optional<Endpoint> parse_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(text.substr(0, colon));
  const auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  Endpoint ep;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    ep.addr.v6.sin6_family = AF_INET6;
    ep.addr.v6.sin6_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &ep.addr.v6.sin6_addr) != 1) return std::nullopt;
    ep.len = sizeof(sockaddr_in6);
    return ep;
  }
  ep.addr.v4.sin_family = AF_INET;
  ep.addr.v4.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &ep.addr.v4.sin_addr) != 1) return std::nullopt;
  ep.len = sizeof(sockaddr_in);
  return ep;
}

/// A UDP socket bound to `local`; -1 (after printing why) on failure.
inline int bind_udp(const Endpoint& local) {
  const int fd = socket(local.addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::perror("socket"), -1;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, &local.addr.sa, local.len) != 0) return std::perror("bind"), close(fd), -1;
  return fd;
}

/// A UDP socket connected to `peer` (so the kernel filters replies by source); -1 on failure.
inline int connect_udp(const Endpoint& peer) {
  const int fd = socket(peer.addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::perror("socket"), -1;
  if (connect(fd, &peer.addr.sa, peer.len) != 0) return std::perror("connect"), close(fd), -1;
  return fd;
}

/// Blocks SIGINT/SIGTERM and installs a handler that only sets a flag. The returned mask (the old
/// one, without those two) is passed to ppoll, so a signal can only arrive while the program sleeps
/// in ppoll: no lost wake-up between checking the flag and going to sleep.
inline volatile sig_atomic_t g_stop = 0;  // NOLINT: a signal handler can only reach a global
inline sigset_t block_stop_signals() {
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigset_t stop_set;
  sigset_t old_mask;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_set, &old_mask);
  sigdelset(&old_mask, SIGINT);
  sigdelset(&old_mask, SIGTERM);
  return old_mask;
}

/// Waits until one of `fds` is readable or a stop signal arrives; false means "stop now".
template <std::size_t N>
bool wait_readable(std::array<pollfd, N>& fds, const sigset_t& wait_mask) {
  while (g_stop == 0) {
    for (auto& p : fds) p.revents = 0;
    if (ppoll(fds.data(), N, nullptr, &wait_mask) >= 0) return true;
    if (errno != EINTR) return std::perror("ppoll"), false;
  }
  return false;
}

/// kBatch receive slots (buffer + source address) and a send vector that points into them.
struct Batch {
  std::array<std::array<std::uint8_t, kBufferSize>, kBatch> buf{};
  std::array<Endpoint, kBatch> from{};
  std::array<iovec, kBatch> in_iov{};
  std::array<mmsghdr, kBatch> in{};
  std::array<iovec, kBatch> out_iov{};
  std::array<mmsghdr, kBatch> out{};
  unsigned out_count = 0;

  /// Receives up to kBatch datagrams without blocking; returns how many (0 when none or on error).
  unsigned receive(int fd) {
    for (unsigned i = 0; i < kBatch; ++i) {
      in_iov[i] = {buf[i].data(), buf[i].size()};
      in[i].msg_hdr = {};
      in[i].msg_hdr.msg_iov = &in_iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
      in[i].msg_hdr.msg_name = &from[i].addr;
      in[i].msg_hdr.msg_namelen = sizeof from[i].addr;
    }
    const int n = recvmmsg(fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
    out_count = 0;
    if (n <= 0) return 0;
    for (int i = 0; i < n; ++i) from[i].len = in[i].msg_hdr.msg_namelen;
    return static_cast<unsigned>(n);
  }

  /// Queues buf[i][0, len) for sending to `to` (nullptr on a connected socket).
  void queue(unsigned i, std::size_t len, const Endpoint* to) {
    auto& m = out[out_count];
    out_iov[out_count] = {buf[i].data(), len};
    m.msg_hdr = {};
    m.msg_hdr.msg_iov = &out_iov[out_count];
    m.msg_hdr.msg_iovlen = 1;
    if (to != nullptr) {
      m.msg_hdr.msg_name = const_cast<sockaddr*>(&to->addr.sa);  // sendmmsg takes a non-const pointer
      m.msg_hdr.msg_namelen = to->len;
    }
    ++out_count;
  }

  /// Sends everything queued; returns how many datagrams the kernel refused (full buffer).
  unsigned flush(int fd) {
    unsigned sent = 0;
    while (sent < out_count) {
      const int n = sendmmsg(fd, out.data() + sent, out_count - sent, MSG_DONTWAIT);
      if (n <= 0) break;  // EAGAIN/ENOBUFS: drop the rest, as a UDP proxy would
      sent += static_cast<unsigned>(n);
    }
    const unsigned dropped = out_count - sent;
    out_count = 0;
    return dropped;
  }
};

/// Reads a 16-bit big-endian value (memcpy: the buffer may be unaligned for a u16).
inline std::uint16_t load_u16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return ntohs(v);
}

/// Writes a 16-bit big-endian value.
inline void store_u16(std::uint8_t* p, std::uint16_t value) {
  const std::uint16_t v = htons(value);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace dnsfence::bench
