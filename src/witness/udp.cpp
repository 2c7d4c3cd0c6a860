#include "witness/udp.hpp"

#include <netinet/in.h>

#include <array>
#include <cstring>

namespace dnsfence::witness {
namespace {

// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
constexpr std::size_t kControlSize = CMSG_SPACE(sizeof(in6_pktinfo));

}  // namespace

socklen_t to_sockaddr(const Endpoint& e, sockaddr_storage& ss) noexcept {
  std::memset(&ss, 0, sizeof ss);
  if (e.address.v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(e.port);
    std::memcpy(&s6->sin6_addr, e.address.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(e.port);
  std::memcpy(&s4->sin_addr, e.address.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

Endpoint from_sockaddr(const sockaddr_storage& ss) noexcept {
  Endpoint e;
  if (ss.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    e.address.v6 = true;
    std::memcpy(e.address.bytes.data(), &s6->sin6_addr, 16);
    e.port = ntohs(s6->sin6_port);
  } else {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    std::memcpy(e.address.bytes.data(), &s4->sin_addr, 4);
    e.port = ntohs(s4->sin_port);
  }
  return e;
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
      d.local = LocalAddress{true, {}, info.ipi_ifindex};
      std::memcpy(d.local.address.bytes.data(), &info.ipi_addr, 4);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      d.local = LocalAddress{true, {}, static_cast<int>(info.ipi6_ifindex)};
      d.local.address.v6 = true;
      std::memcpy(d.local.address.bytes.data(), &info.ipi6_addr, 16);
    }
  }
  return d;
}

void send_to(int fd, const Endpoint& peer, const LocalAddress& local, std::span<const std::uint8_t> data) noexcept {
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(peer, ss);
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr) std::array<std::uint8_t, kControlSize> control{};
  msghdr msg{};
  msg.msg_name = &ss;
  msg.msg_namelen = len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (local.known && local.address.v6 == peer.address.v6) {
    msg.msg_control = control.data();
    cmsghdr* c = reinterpret_cast<cmsghdr*>(control.data());
    c->cmsg_level = local.address.v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    c->cmsg_type = local.address.v6 ? IPV6_PKTINFO : IP_PKTINFO;
    if (local.address.v6) {
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, local.address.bytes.data(), 16);
      info.ipi6_ifindex = static_cast<unsigned>(local.ifindex);  // needed for link-local peers
      c->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
      msg.msg_controllen = CMSG_SPACE(sizeof info);
    } else {
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, local.address.bytes.data(), 4);  // source address; route picks the interface
      c->cmsg_len = CMSG_LEN(sizeof info);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
      msg.msg_controllen = CMSG_SPACE(sizeof info);
    }
  }
  (void)::sendmsg(fd, &msg, 0);
}

}  // namespace dnsfence::witness
