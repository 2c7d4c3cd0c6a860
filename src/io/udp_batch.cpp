#include "io/udp_batch.hpp"

#include <cerrno>
#include <cstring>

namespace dnsfence::io {

bool Peer::same(const Peer& o) const noexcept {
  if (addr.ss_family != o.addr.ss_family) return false;
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&o.addr);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
  const auto* b = reinterpret_cast<const sockaddr_in6*>(&o.addr);
  return a->sin6_port == b->sin6_port && std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

common::IpAddress Peer::ip() const noexcept {
  if (addr.ss_family == AF_INET)
    return common::IpAddress::from_v4(reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr);
  return common::IpAddress::from_v6(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr);
}

Peer Peer::from(const common::SocketAddress& a) noexcept {
  Peer p;
  p.len = a.to_sockaddr(p.addr);
  return p;
}

// Buffers are written by the kernel before they are read; see SendBatch.
RecvBatch::RecvBatch() noexcept {  // NOLINT(cppcoreguidelines-pro-type-member-init)
  for (std::size_t i = 0; i < kBatch; ++i) {
    iov_[i] = {buffers_[i].data(), buffers_[i].size()};
    auto& h = msgs_[i].msg_hdr;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
  }
}

std::size_t RecvBatch::recv(int fd, int* error) noexcept {
  for (std::size_t i = 0; i < kBatch; ++i) {
    auto& h = msgs_[i].msg_hdr;
    h.msg_name = &peers_[i].addr;
    h.msg_namelen = sizeof peers_[i].addr;
    h.msg_control = control_[i].data();
    h.msg_controllen = control_[i].size();
    h.msg_flags = 0;
  }
  const int n = recvmmsg(fd, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n <= 0) {
    if (error != nullptr) *error = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK ? errno : 0;
    return 0;
  }
  for (int i = 0; i < n; ++i) {
    lengths_[i] = msgs_[i].msg_len;
    peers_[i].len = msgs_[i].msg_hdr.msg_namelen;
  }
  return static_cast<std::size_t>(n);
}

bool RecvBatch::truncated(std::size_t i) const noexcept {
  return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

std::optional<Peer> RecvBatch::original_destination(std::size_t i) const noexcept {
  auto* h = const_cast<msghdr*>(&msgs_[i].msg_hdr);
  for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
    Peer p;
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_ORIGDSTADDR) {
      std::memcpy(&p.addr, CMSG_DATA(c), sizeof(sockaddr_in));
      p.len = sizeof(sockaddr_in);
      return p;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR) {
      std::memcpy(&p.addr, CMSG_DATA(c), sizeof(sockaddr_in6));
      p.len = sizeof(sockaddr_in6);
      return p;
    }
  }
  return std::nullopt;
}

// Buffers are written before they are read; zeroing them would make every page resident.
SendBatch::SendBatch() noexcept {  // NOLINT(cppcoreguidelines-pro-type-member-init)
  for (std::size_t i = 0; i < kBatch; ++i) {
    auto& h = msgs_[i].msg_hdr;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
  }
}

void SendBatch::commit(std::size_t size, const Peer& to, const std::optional<Peer>& from) noexcept {
  if (count_ == kBatch) return;
  const std::size_t i = count_++;
  peers_[i] = to;
  iov_[i] = {buffers_[i].data(), size};
  auto& h = msgs_[i].msg_hdr;
  h.msg_name = &peers_[i].addr;
  h.msg_namelen = peers_[i].len;
  h.msg_control = nullptr;
  h.msg_controllen = 0;
  if (!from) return;
  // The source address of the reply: on a transparent socket it may be a non-local address.
  h.msg_control = control_[i].data();
  h.msg_controllen = control_[i].size();
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  if (from->addr.ss_family == AF_INET) {
    in_pktinfo info{};
    info.ipi_spec_dst = reinterpret_cast<const sockaddr_in*>(&from->addr)->sin_addr;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    h.msg_controllen = CMSG_SPACE(sizeof info);
  } else {
    in6_pktinfo info{};
    info.ipi6_addr = reinterpret_cast<const sockaddr_in6*>(&from->addr)->sin6_addr;
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    h.msg_controllen = CMSG_SPACE(sizeof info);
  }
}

std::size_t SendBatch::flush(int fd) noexcept {
  std::size_t sent = 0;
  std::size_t refused = 0;
  while (sent < count_) {
    const int n = sendmmsg(fd, msgs_.data() + sent, static_cast<unsigned>(count_ - sent), MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The first datagram failed (full buffer, unreachable peer): drop it and go on with the rest.
    ++sent;
    ++refused;
  }
  count_ = 0;
  return refused;
}

}  // namespace dnsfence::io
