#include "io/socket.hpp"

#include <linux/filter.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>

namespace dnsfence::io {
namespace {

bool set_int(int fd, int level, int name, int value) noexcept {
  return setsockopt(fd, level, name, &value, sizeof value) == 0;
}

// Applies the options shared by UDP and TCP sockets; false with errno set on failure.
bool apply(int fd, int family, const SocketOptions& o) noexcept {
  if (family == AF_INET6 && !set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) return false;
  if (o.reuseport && !set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)) return false;
  if (o.reuseaddr && !set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) return false;
  // SO_RCVBUFFORCE passes net.core.rmem_max when we may (root, before dropping privileges).
  if (o.receive_buffer > 0 && !set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, o.receive_buffer) &&
      !set_int(fd, SOL_SOCKET, SO_RCVBUF, o.receive_buffer))
    return false;
  if (o.transparent) {
    const bool ok =
        family == AF_INET ? set_int(fd, IPPROTO_IP, IP_TRANSPARENT, 1) : set_int(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, 1);
    if (!ok) return false;
  }
  if (o.original_dst) {
    const bool ok = family == AF_INET ? set_int(fd, IPPROTO_IP, IP_RECVORIGDSTADDR, 1)
                                      : set_int(fd, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, 1);
    if (!ok) return false;
  }
  if (o.send_only) {
    // "ret #0": accept zero octets of every packet, so nothing is ever queued for reading.
    sock_filter drop_all{BPF_RET | BPF_K, 0, 0, 0};
    const sock_fprog program{1, &drop_all};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) return false;
  }
  return true;
}

std::expected<Fd, int> open_bound(const common::SocketAddress& address, int type, const SocketOptions& o) noexcept {
  const int family = address.ip().family();
  Fd fd(socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return std::unexpected(errno);
  if (!apply(fd.get(), family, o)) return std::unexpected(errno);
  sockaddr_storage ss{};
  const socklen_t len = address.to_sockaddr(ss);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) return std::unexpected(errno);
  return fd;
}

}  // namespace

void Fd::reset() noexcept {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

std::expected<Fd, int> open_udp(const common::SocketAddress& address, const SocketOptions& options) noexcept {
  return open_bound(address, SOCK_DGRAM, options);
}

std::expected<Fd, int> open_tcp_listener(const common::SocketAddress& address, const SocketOptions& options,
                                         int backlog) noexcept {
  SocketOptions o = options;
  o.reuseaddr = true;  // restart without waiting for TIME_WAIT
  auto fd = open_bound(address, SOCK_STREAM, o);
  if (!fd) return fd;
  set_int(fd->get(), IPPROTO_TCP, TCP_NODELAY, 1);
  if (listen(fd->get(), backlog) != 0) return std::unexpected(errno);
  return fd;
}

std::expected<Fd, int> connect_tcp(const common::SocketAddress& address) noexcept {
  Fd fd(socket(address.ip().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return std::unexpected(errno);
  set_int(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1);
  sockaddr_storage ss{};
  const socklen_t len = address.to_sockaddr(ss);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)
    return std::unexpected(errno);
  return fd;
}

std::expected<common::SocketAddress, int> local_address(int fd) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::unexpected(errno);
  auto a = common::SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
  if (!a) return std::unexpected(EAFNOSUPPORT);
  return *a;
}

}  // namespace dnsfence::io
