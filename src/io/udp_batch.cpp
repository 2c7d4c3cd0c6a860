#include "io/udp_batch.hpp"

#include <cerrno>
#include <cstring>

namespace dnsfence::io {

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
    h.msg_name = peers_[i].kernel_storage();
    h.msg_namelen = common::SocketAddress::kCapacity;
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
    peers_[i].adopt(msgs_[i].msg_hdr.msg_namelen);
  }
  return static_cast<std::size_t>(n);
}

bool RecvBatch::truncated(std::size_t i) const noexcept {
  return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

std::optional<common::SocketAddress> RecvBatch::original_destination(std::size_t i) noexcept {
  return original_destination_of(msgs_[i].msg_hdr);
}

// Buffers are written before they are read; zeroing them would make every page resident.
SendBatch::SendBatch() noexcept {  // NOLINT(cppcoreguidelines-pro-type-member-init)
  for (std::size_t i = 0; i < kBatch; ++i) {
    auto& h = msgs_[i].msg_hdr;
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
  }
}

void SendBatch::commit(std::size_t size, const common::SocketAddress& to,
                       const std::optional<common::SocketAddress>& from) noexcept {
  if (count_ == kBatch) return;
  const std::size_t i = count_++;
  peers_[i] = to;
  iov_[i] = {buffers_[i].data(), size};
  auto& h = msgs_[i].msg_hdr;
  h.msg_name = const_cast<sockaddr*>(peers_[i].sockaddr_ptr());
  h.msg_namelen = peers_[i].sockaddr_len();
  h.msg_control = nullptr;
  h.msg_controllen = 0;
  if (!from) return;
  // The source address of the reply: on a transparent socket it may be a non-local address.
  h.msg_control = control_[i].data();
  set_source(h, from->ip());
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
