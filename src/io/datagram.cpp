#include "io/datagram.hpp"

#include <netinet/in.h>

#include <cstring>

namespace dnsfence::io {

bool enable_pktinfo(int fd, int family) noexcept {
  const int one = 1;
  return family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0
                            : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0;
}

void set_source(msghdr& h, const common::IpAddress& from, int ifindex) noexcept {
  h.msg_controllen = kControlSpace;
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (from.is_v4()) {
    in_pktinfo info{};
    // ipi_spec_dst is the source address; the route picks the interface.
    std::memcpy(&info.ipi_spec_dst, from.bytes().data(), 4);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    h.msg_controllen = CMSG_SPACE(sizeof info);
  } else {
    in6_pktinfo info{};
    std::memcpy(&info.ipi6_addr, from.bytes().data(), 16);
    info.ipi6_ifindex = static_cast<unsigned>(ifindex);  // needed for link-local peers
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    h.msg_controllen = CMSG_SPACE(sizeof info);
  }
}

LocalAddress local_address_of(msghdr& h) noexcept {
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      return {true, common::IpAddress::from_v4(info.ipi_addr), info.ipi_ifindex};
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      return {true, common::IpAddress::from_v6(info.ipi6_addr), static_cast<int>(info.ipi6_ifindex)};
    }
  }
  return {};
}

std::optional<common::SocketAddress> original_destination_of(msghdr& h) noexcept {
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_ORIGDSTADDR)
      return common::SocketAddress::from_kernel(CMSG_DATA(c), sizeof(sockaddr_in));
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR)
      return common::SocketAddress::from_kernel(CMSG_DATA(c), sizeof(sockaddr_in6));
  }
  return std::nullopt;
}

std::optional<Datagram> receive(int fd, std::span<std::uint8_t> buffer) noexcept {
  Datagram d;
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) std::array<std::uint8_t, kControlSpace> control{};
  msghdr msg{};
  msg.msg_name = d.peer.kernel_storage();
  msg.msg_namelen = common::SocketAddress::kCapacity;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0 || !d.peer.adopt(msg.msg_namelen)) return std::nullopt;
  d.size = static_cast<std::size_t>(n);
  d.local = local_address_of(msg);
  return d;
}

void send_to(int fd, const common::SocketAddress& peer, const LocalAddress& local,
             std::span<const std::uint8_t> data) noexcept {
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) std::array<std::uint8_t, kControlSpace> control{};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(peer.sockaddr_ptr());
  msg.msg_namelen = peer.sockaddr_len();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (local.known && local.address.family() == peer.family()) {
    msg.msg_control = control.data();
    set_source(msg, local.address, local.ifindex);
  }
  (void)sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace dnsfence::io
