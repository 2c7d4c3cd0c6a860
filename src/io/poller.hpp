#pragma once
// A thin epoll wrapper shared by every event loop (serve's workers, the witness). Each registered
// descriptor carries a 64-bit tag the owner chooses, by convention (kind << 32) | index, so one
// loop can route events to the components that registered them. Level-triggered.

#include <sys/epoll.h>

#include <cstdint>
#include <span>

#include "io/socket.hpp"

namespace dnsfence::io {

/// Builds a tag from a component kind and an index.
constexpr std::uint64_t tag(std::uint8_t kind, std::uint32_t index) noexcept {
  return (static_cast<std::uint64_t>(kind) << 32) | index;
}
constexpr std::uint8_t tag_kind(std::uint64_t t) noexcept {
  return static_cast<std::uint8_t>(t >> 32);
}
constexpr std::uint32_t tag_index(std::uint64_t t) noexcept {
  return static_cast<std::uint32_t>(t);
}

class Poller {
 public:
  /// Creates the epoll instance. Throws std::system_error if the kernel refuses.
  Poller();
  [[nodiscard]] int fd() const noexcept { return fd_.get(); }
  /// Registers `fd` for `events` (EPOLLIN, EPOLLOUT, EPOLLRDHUP); false with errno on failure.
  bool add(int fd, std::uint64_t tag, std::uint32_t events) noexcept;
  /// Changes the events (0: none; EPOLLERR and EPOLLHUP are still reported).
  bool modify(int fd, std::uint64_t tag, std::uint32_t events) noexcept;
  /// Unregisters `fd` (closing a descriptor also does).
  void remove(int fd) noexcept;
  /// Waits up to `timeout_ms` (-1: forever); returns how many events were filled (0 on timeout
  /// or EINTR).
  int wait(std::span<epoll_event> events, int timeout_ms) noexcept;

 private:
  Fd fd_;
};

}  // namespace dnsfence::io
