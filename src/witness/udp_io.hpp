#pragma once
// The witness's UDP socket I/O in batches: one recvmmsg takes every datagram waiting (up to
// kUdpSlots), one sendmmsg sends the replies built for them, each from the address its query was
// sent to (IP_PKTINFO / IPV6_PKTINFO). A batch shorter than kUdpSlots means the socket was empty,
// so no further receive call is needed to learn it: one datagram-at-a-time receiving spent a
// system call per wake-up on EAGAIN and one per reply, ~15 % of the witness's CPU per answer.
// Buffers are sized for the largest datagram (queries are not cut) and left uninitialised: only the
// pages the kernel or a reply writes become resident.

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "common/net.hpp"
#include "io/datagram.hpp"

namespace dnsfence::witness {

inline constexpr std::size_t kUdpSlots = 16;
inline constexpr std::size_t kUdpMaxMessage = 65535;

class UdpIo {
 public:
  UdpIo();
  UdpIo(const UdpIo&) = delete;
  UdpIo& operator=(const UdpIo&) = delete;

  /// One recvmmsg on non-blocking `fd`: how many datagrams arrived (0: none waiting, or an error).
  /// Replies queued for an earlier batch must have been sent (flush) first.
  std::size_t receive(int fd) noexcept;
  /// The i-th datagram received; false for a peer that is not IPv4 or IPv6 (ignore it).
  [[nodiscard]] bool valid(std::size_t i) const noexcept { return valid_[i]; }
  [[nodiscard]] std::span<const std::uint8_t> query(std::size_t i) const noexcept {
    return {in_.get() + i * kUdpMaxMessage, lengths_[i]};
  }
  [[nodiscard]] const common::SocketAddress& peer(std::size_t i) const noexcept { return peers_[i]; }
  [[nodiscard]] const io::LocalAddress& local(std::size_t i) const noexcept { return locals_[i]; }
  /// Where the reply to the i-th datagram is built (kUdpMaxMessage octets).
  [[nodiscard]] std::span<std::uint8_t> reply_buffer(std::size_t i) noexcept {
    return {out_.get() + i * kUdpMaxMessage, kUdpMaxMessage};
  }
  /// Queues the reply to the i-th datagram, `size` octets of reply_buffer(i), for flush().
  void queue_reply(std::size_t i, std::size_t size) noexcept;
  /// Sends the queued replies with sendmmsg; a datagram the kernel refuses is dropped (UDP is best
  /// effort), the rest are still sent.
  void flush(int fd) noexcept;

 private:
  std::unique_ptr<std::uint8_t[]> in_;
  std::unique_ptr<std::uint8_t[]> out_;
  alignas(cmsghdr) std::array<std::array<std::uint8_t, io::kControlSpace>, kUdpSlots> in_control_;
  alignas(cmsghdr) std::array<std::array<std::uint8_t, io::kControlSpace>, kUdpSlots> out_control_;
  std::array<common::SocketAddress, kUdpSlots> peers_;
  std::array<io::LocalAddress, kUdpSlots> locals_;
  std::array<std::size_t, kUdpSlots> lengths_{};
  std::array<bool, kUdpSlots> valid_{};
  std::array<iovec, kUdpSlots> in_iov_{};
  std::array<iovec, kUdpSlots> out_iov_{};
  std::array<mmsghdr, kUdpSlots> in_msgs_{};
  std::array<mmsghdr, kUdpSlots> out_msgs_{};
  std::size_t queued_ = 0;
};

}  // namespace dnsfence::witness
