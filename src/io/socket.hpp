#pragma once
// Socket setup for the proxy's listeners and upstream sockets: SO_REUSEPORT groups (one socket
// per worker), transparent sockets for TPROXY, and the ancillary data that reports a datagram's
// original destination. Knows nothing about DNS. Setup runs on the control plane, but returns
// errno values instead of throwing so that callers decide how to report them.

#include <cstdint>
#include <expected>
#include <utility>

#include "common/net.hpp"

namespace dnsfence::io {

/// An owned file descriptor; closes on destruction. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  /// Closes the descriptor now.
  void reset() noexcept;

 private:
  int fd_ = -1;
};

struct SocketOptions {
  bool reuseport = false;     // SO_REUSEPORT: one socket per worker on the same address
  bool reuseaddr = false;     // SO_REUSEADDR: reply sockets bound to a tproxied destination
  bool transparent = false;   // IP_TRANSPARENT / IPV6_TRANSPARENT (needs CAP_NET_ADMIN or root)
  bool original_dst = false;  // IP_RECVORIGDSTADDR / IPV6_RECVORIGDSTADDR on every datagram
  bool send_only = false;     // a socket filter drops every datagram it would receive
  int receive_buffer = 0;     // SO_RCVBUF, 0: the kernel's default
};

/// A non-blocking UDP socket bound to `address` (port 0: an ephemeral port the kernel picks at
/// random). An IPv6 socket is v6-only. Fails with the errno of the step that failed.
std::expected<Fd, int> open_udp(const common::SocketAddress& address, const SocketOptions& options) noexcept;

/// A non-blocking listening TCP socket bound to `address`.
std::expected<Fd, int> open_tcp_listener(const common::SocketAddress& address, const SocketOptions& options,
                                         int backlog = 1024) noexcept;

/// A non-blocking TCP socket connecting to `address` (connect in progress is success).
std::expected<Fd, int> connect_tcp(const common::SocketAddress& address) noexcept;

/// The address a socket is bound to (for port 0 and accepted connections: the original
/// destination of a transparent connection).
std::expected<common::SocketAddress, int> local_address(int fd) noexcept;

}  // namespace dnsfence::io
