#pragma once
// The one place that reads and writes the ancillary data of UDP datagrams: the local address a
// datagram was sent *to* (IP_PKTINFO / IPV6_PKTINFO), so that a socket bound to a wildcard or a
// transparent socket replies from the address the client asked; and the original destination of a
// tproxied datagram (IP_ORIGDSTADDR / IPV6_ORIGDSTADDR). Plus one-datagram-at-a-time receive and
// send for listeners that do not batch (the witness). Knows nothing about DNS.

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "common/net.hpp"

namespace dnsfence::io {

/// The local side of a received datagram.
struct LocalAddress {
  bool known = false;
  common::IpAddress address;
  int ifindex = 0;
};

/// Room for one IP_PKTINFO / IPV6_PKTINFO or ORIGDSTADDR control message.
inline constexpr std::size_t kControlSpace = 64;
static_assert(kControlSpace >= CMSG_SPACE(sizeof(sockaddr_in6)));

/// Asks the kernel for each datagram's destination address (IP_PKTINFO or IPV6_RECVPKTINFO).
/// False, with errno set, if it refuses.
bool enable_pktinfo(int fd, int family) noexcept;
/// Adds a control message to `h` (whose msg_control has kControlSpace octets) that makes the
/// datagram leave from `from` (on interface `ifindex` for IPv6, 0: any). Sets msg_controllen.
void set_source(msghdr& h, const common::IpAddress& from, int ifindex = 0) noexcept;
/// The IP_PKTINFO / IPV6_PKTINFO destination of a received datagram, if the kernel reported it.
LocalAddress local_address_of(msghdr& h) noexcept;
/// The IP_ORIGDSTADDR / IPV6_ORIGDSTADDR of a received datagram, if the kernel reported it.
std::optional<common::SocketAddress> original_destination_of(msghdr& h) noexcept;

struct Datagram {
  common::SocketAddress peer;
  LocalAddress local;
  std::size_t size = 0;
};

/// Receives one datagram into `buffer` with its local address; nullopt when none is waiting (or
/// on error). A datagram longer than the buffer is cut to it.
std::optional<Datagram> receive(int fd, std::span<std::uint8_t> buffer) noexcept;
/// Sends `data` to `peer`, from `local` when known. Errors are ignored: UDP is best effort.
void send_to(int fd, const common::SocketAddress& peer, const LocalAddress& local,
             std::span<const std::uint8_t> data) noexcept;

}  // namespace dnsfence::io
