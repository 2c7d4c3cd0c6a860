#include "witness/udp_io.hpp"

#include <cerrno>

namespace dnsfence::witness {

// The buffers and control arrays are written (by the kernel, or by a reply) before they are read;
// zeroing them would make every page resident.
UdpIo::UdpIo()  // NOLINT(cppcoreguidelines-pro-type-member-init)
    : in_(new std::uint8_t[kUdpSlots * kUdpMaxMessage]), out_(new std::uint8_t[kUdpSlots * kUdpMaxMessage]) {
  for (std::size_t i = 0; i < kUdpSlots; ++i) {
    in_iov_[i] = {in_.get() + i * kUdpMaxMessage, kUdpMaxMessage};
    in_msgs_[i].msg_hdr.msg_iov = &in_iov_[i];
    in_msgs_[i].msg_hdr.msg_iovlen = 1;
  }
}

std::size_t UdpIo::receive(int fd) noexcept {
  for (std::size_t i = 0; i < kUdpSlots; ++i) {
    auto& h = in_msgs_[i].msg_hdr;
    h.msg_name = peers_[i].kernel_storage();
    h.msg_namelen = common::SocketAddress::kCapacity;
    h.msg_control = in_control_[i].data();
    h.msg_controllen = in_control_[i].size();
    h.msg_flags = 0;
  }
  const int n = recvmmsg(fd, in_msgs_.data(), kUdpSlots, MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;  // EAGAIN, or a transient error: poll again
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    auto& h = in_msgs_[i].msg_hdr;
    lengths_[i] = in_msgs_[i].msg_len;
    valid_[i] = peers_[i].adopt(h.msg_namelen);
    locals_[i] = io::local_address_of(h);
  }
  return static_cast<std::size_t>(n);
}

void UdpIo::queue_reply(std::size_t i, std::size_t size) noexcept {
  if (queued_ == kUdpSlots) return;
  const std::size_t q = queued_++;
  out_iov_[q] = {out_.get() + i * kUdpMaxMessage, size};
  auto& h = out_msgs_[q].msg_hdr;
  h = msghdr{};
  h.msg_name = const_cast<sockaddr*>(peers_[i].sockaddr_ptr());
  h.msg_namelen = peers_[i].sockaddr_len();
  h.msg_iov = &out_iov_[q];
  h.msg_iovlen = 1;
  const io::LocalAddress& local = locals_[i];
  if (local.known && local.address.family() == peers_[i].family()) {
    h.msg_control = out_control_[q].data();
    io::set_source(h, local.address, local.ifindex);
  }
}

void UdpIo::flush(int fd) noexcept {
  std::size_t sent = 0;
  while (sent < queued_) {
    const int n =
        sendmmsg(fd, out_msgs_.data() + sent, static_cast<unsigned>(queued_ - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      ++sent;  // the first one failed (full buffer, unreachable peer): drop it, send the rest
    }
  }
  queued_ = 0;
}

}  // namespace dnsfence::witness
