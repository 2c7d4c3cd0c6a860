#pragma once
// UDP receive/send that keep the address a datagram was sent *to*, so a socket bound to a
// wildcard (0.0.0.0, ::) replies from that same address (IP_PKTINFO / IPV6_PKTINFO): a reply from
// another local address is rejected by resolvers.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>

#include "common/net.hpp"

namespace dnsfence::witness {

/// The local side of a received datagram.
struct LocalAddress {
  bool known = false;
  common::IpAddress address;
  int ifindex = 0;
};

struct Datagram {
  common::SocketAddress peer;
  LocalAddress local;
  std::size_t size = 0;
};

/// The address and port of an AF_INET or AF_INET6 sockaddr (unspecified for anything else).
common::SocketAddress from_sockaddr(const sockaddr_storage& ss) noexcept;
/// Asks the kernel for each datagram's destination address. False if it refuses.
bool enable_pktinfo(int fd, bool v6) noexcept;
/// Receives one datagram into `buffer`; nullopt when none is waiting (or on error).
std::optional<Datagram> receive(int fd, std::span<std::uint8_t> buffer) noexcept;
/// Sends `data` to `peer`, from `local` when known. Errors are ignored: UDP is best effort.
void send_to(int fd, const common::SocketAddress& peer, const LocalAddress& local,
             std::span<const std::uint8_t> data) noexcept;

}  // namespace dnsfence::witness
