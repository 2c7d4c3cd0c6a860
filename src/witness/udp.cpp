#include "witness/udp.hpp"

#include <netinet/in.h>

#include <array>
#include <cstring>

namespace dnsfence::witness {
namespace {

// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
constexpr std::size_t kControlSize = CMSG_SPACE(sizeof(in6_pktinfo));

}  // namespace

common::SocketAddress from_sockaddr(const sockaddr_storage& ss) noexcept {
  auto a = common::SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), sizeof ss);
  return a ? *a : common::SocketAddress{};
}

bool enable_pktinfo(int fd, bool v6) noexcept {
  const int one = 1;
  return v6 ? ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0
            : ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0;
}

std::optional<Datagram> receive(int fd, std::span<std::uint8_t> buffer) noexcept {
  sockaddr_storage ss{};
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) std::array<std::uint8_t, kControlSize> control{};
  msghdr msg{};
  msg.msg_name = &ss;
  msg.msg_namelen = sizeof ss;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t n = ::recvmsg(fd, &msg, 0);
  if (n < 0) return std::nullopt;
  Datagram d{from_sockaddr(ss), {}, static_cast<std::size_t>(n)};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      d.local = LocalAddress{true, common::IpAddress::from_v4(info.ipi_addr), info.ipi_ifindex};
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      d.local = LocalAddress{true, common::IpAddress::from_v6(info.ipi6_addr), static_cast<int>(info.ipi6_ifindex)};
    }
  }
  return d;
}

void send_to(int fd, const common::SocketAddress& peer, const LocalAddress& local,
             std::span<const std::uint8_t> data) noexcept {
  sockaddr_storage ss{};
  const socklen_t len = peer.to_sockaddr(ss);
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) std::array<std::uint8_t, kControlSize> control{};
  msghdr msg{};
  msg.msg_name = &ss;
  msg.msg_namelen = len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (local.known && local.address.family() == peer.ip().family()) {
    msg.msg_control = control.data();
    cmsghdr* c = reinterpret_cast<cmsghdr*>(control.data());
    c->cmsg_level = local.address.is_v4() ? IPPROTO_IP : IPPROTO_IPV6;
    c->cmsg_type = local.address.is_v4() ? IP_PKTINFO : IPV6_PKTINFO;
    if (!local.address.is_v4()) {
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, local.address.bytes().data(), 16);
      info.ipi6_ifindex = static_cast<unsigned>(local.ifindex);  // needed for link-local peers
      c->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
      msg.msg_controllen = CMSG_SPACE(sizeof info);
    } else {
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, local.address.bytes().data(), 4);  // source address; route picks the interface
      c->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
      msg.msg_controllen = CMSG_SPACE(sizeof info);
    }
  }
  (void)::sendmsg(fd, &msg, 0);
}

}  // namespace dnsfence::witness
