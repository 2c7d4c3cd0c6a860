#pragma once
// UDP receive/send that keep the address a datagram was sent *to*, so a socket bound to a
// wildcard (0.0.0.0, ::) replies from that same address (IP_PKTINFO / IPV6_PKTINFO): a reply from
// another local address is rejected by resolvers. Also sockaddr <-> Endpoint conversions.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>

#include "witness/address.hpp"

namespace dnsfence::witness {

/// The local side of a received datagram.
struct LocalAddress {
  bool known = false;
  IpAddress address;
  int ifindex = 0;
};

struct Datagram {
  Endpoint peer;
  LocalAddress local;
  std::size_t size = 0;
};

/// Fills `ss` from `e`; returns the sockaddr length.
socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& ss) noexcept;
/// The address and port of an AF_INET or AF_INET6 sockaddr.
Endpoint from_sockaddr(const sockaddr_storage& ss) noexcept;
/// Asks the kernel for each datagram's destination address. False if it refuses.
bool enable_pktinfo(int fd, bool v6) noexcept;
/// Receives one datagram into `buffer`; nullopt when none is waiting (or on error).
std::optional<Datagram> receive(int fd, std::span<std::uint8_t> buffer) noexcept;
/// Sends `data` to `peer`, from `local` when known. Errors are ignored: UDP is best effort.
void send_to(int fd, const Endpoint& peer, const LocalAddress& local, std::span<const std::uint8_t> data) noexcept;

}  // namespace dnsfence::witness
