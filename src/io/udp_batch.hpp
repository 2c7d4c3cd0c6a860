#pragma once
// Batches of datagrams for recvmmsg/sendmmsg with preallocated buffers: receiving and sending a
// batch allocates nothing and costs one system call. Each received datagram carries its peer and,
// on transparent sockets, its original destination; each datagram sent may name the source
// address it must leave from (IP_PKTINFO / IPV6_PKTINFO, written by io/datagram). Knows nothing
// about DNS.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "common/net.hpp"
#include "io/datagram.hpp"

namespace dnsfence::io {

inline constexpr std::size_t kBatch = 32;
inline constexpr std::size_t kMaxDatagram = 4096;  // larger client datagrams are truncated and dropped

/// Received datagrams. recv() fills up to kBatch of them.
class RecvBatch {
 public:
  RecvBatch() noexcept;
  RecvBatch(const RecvBatch&) = delete;
  RecvBatch& operator=(const RecvBatch&) = delete;

  /// One recvmmsg on a non-blocking socket; returns how many arrived (0 when none was waiting, or
  /// on an error, which is returned through `error` as errno).
  std::size_t recv(int fd, int* error = nullptr) noexcept;
  [[nodiscard]] std::span<std::uint8_t> data(std::size_t i) noexcept { return {buffers_[i].data(), lengths_[i]}; }
  /// True when the datagram did not fit kMaxDatagram.
  [[nodiscard]] bool truncated(std::size_t i) const noexcept;
  [[nodiscard]] const common::SocketAddress& peer(std::size_t i) const noexcept { return peers_[i]; }
  /// The original destination (IP_RECVORIGDSTADDR), when the socket reports it.
  [[nodiscard]] std::optional<common::SocketAddress> original_destination(std::size_t i) noexcept;

 private:
  std::array<std::array<std::uint8_t, kMaxDatagram>, kBatch> buffers_;
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kControlSpace>, kBatch> control_;
  std::array<common::SocketAddress, kBatch> peers_;
  std::array<iovec, kBatch> iov_{};
  std::array<mmsghdr, kBatch> msgs_{};
  std::array<std::size_t, kBatch> lengths_{};
};

/// Datagrams to send on one socket. add() copies into the next free slot; flush() sends them all
/// with sendmmsg, retrying the rest after a partial send, and drops what the kernel refuses.
class SendBatch {
 public:
  SendBatch() noexcept;
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  /// The buffer of the next datagram, to build a reply in place; commit() with its size.
  [[nodiscard]] std::span<std::uint8_t> next() noexcept { return buffers_[count_]; }
  /// Queues the datagram written into next(): to `to`, from `from` when set (tproxy source).
  void commit(std::size_t size, const common::SocketAddress& to,
              const std::optional<common::SocketAddress>& from = std::nullopt) noexcept;
  [[nodiscard]] bool full() const noexcept { return count_ == kBatch; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  /// Sends everything queued; returns how many datagrams the kernel refused.
  std::size_t flush(int fd) noexcept;

 private:
  std::array<std::array<std::uint8_t, kMaxDatagram>, kBatch> buffers_;
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kControlSpace>, kBatch> control_;
  std::array<common::SocketAddress, kBatch> peers_;
  std::array<iovec, kBatch> iov_{};
  std::array<mmsghdr, kBatch> msgs_{};
  std::size_t count_ = 0;
};

}  // namespace dnsfence::io
