#include "io/frame.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <new>

namespace dnsfence::io {
namespace {

std::array<std::uint8_t, 2> length_of(std::span<const std::uint8_t> message) noexcept {
  return {static_cast<std::uint8_t>(message.size() >> 8), static_cast<std::uint8_t>(message.size())};
}

}  // namespace

std::optional<std::span<std::uint8_t>> next_message(std::span<std::uint8_t> data, std::size_t& offset) noexcept {
  if (offset > data.size() || data.size() - offset < 2) return std::nullopt;
  const std::size_t length = (static_cast<std::size_t>(data[offset]) << 8) | data[offset + 1];
  if (data.size() - offset - 2 < length) return std::nullopt;
  const auto message = data.subspan(offset + 2, length);
  offset += 2 + length;
  return message;
}

ReadResult read_some(int fd, std::span<std::uint8_t> buffer) noexcept {
  for (;;) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n > 0) return {IoStatus::Ok, static_cast<std::size_t>(n)};
    if (n == 0) return {buffer.empty() ? IoStatus::Again : IoStatus::Closed, 0};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::Again, 0};
    return {IoStatus::Error, 0};
  }
}

std::size_t StreamIn::restore(std::span<std::uint8_t> scratch) const noexcept {
  if (!bytes_.empty()) std::memcpy(scratch.data(), bytes_.data(), bytes_.size());
  return bytes_.size();
}

bool StreamIn::keep(std::span<const std::uint8_t> rest) noexcept {
  if (rest.empty()) {
    if (bytes_.capacity() > kKeepCapacity) {
      release();
    } else {
      bytes_.clear();
    }
    return true;
  }
  try {
    bytes_.assign(rest.begin(), rest.end());
  } catch (const std::bad_alloc&) {
    release();
    return false;
  }
  return true;
}

bool StreamIn::has_message() const noexcept {
  if (bytes_.size() < 2) return false;
  const std::size_t length = (static_cast<std::size_t>(bytes_[0]) << 8) | bytes_[1];
  return bytes_.size() - 2 >= length;
}

void StreamIn::release() noexcept {
  std::vector<std::uint8_t>().swap(bytes_);
}

bool StreamOut::append(std::span<const std::uint8_t> data) noexcept {
  try {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  } catch (const std::bad_alloc&) {
    return false;
  }
  return true;
}

bool StreamOut::queue(std::span<const std::uint8_t> message) noexcept {
  const auto length = length_of(message);
  return append(length) && append(message);
}

IoStatus StreamOut::send(int fd, std::span<const std::uint8_t> message) noexcept {
  if (queued() > 0) return queue(message) ? flush(fd) : IoStatus::Error;
  auto length = length_of(message);
  std::array<iovec, 2> iov = {iovec{length.data(), 2},
                              iovec{const_cast<std::uint8_t*>(message.data()), message.size()}};
  msghdr h{};
  h.msg_iov = iov.data();
  h.msg_iovlen = iov.size();
  ssize_t n = -1;
  do {
    n = ::sendmsg(fd, &h, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return IoStatus::Error;
  const std::size_t sent = n < 0 ? 0 : static_cast<std::size_t>(n);
  written_ += sent;
  if (sent == 2 + message.size()) return IoStatus::Ok;
  // The socket's buffer is full: keep the rest, in order.
  if (sent < 2 && !append(std::span<const std::uint8_t>(length).subspan(sent))) return IoStatus::Error;
  const std::size_t from = sent < 2 ? 0 : sent - 2;
  return append(message.subspan(from)) ? IoStatus::Again : IoStatus::Error;
}

IoStatus StreamOut::flush(int fd) noexcept {
  while (queued() > 0) {
    const ssize_t n = ::send(fd, bytes_.data() + sent_, queued(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent_ += static_cast<std::size_t>(n);
      written_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return IoStatus::Again;
    return IoStatus::Error;
  }
  drained();
  return IoStatus::Ok;
}

void StreamOut::drained() noexcept {
  sent_ = 0;
  if (bytes_.capacity() > kKeepCapacity) {
    release();
  } else {
    bytes_.clear();
  }
}

void StreamOut::release() noexcept {
  std::vector<std::uint8_t>().swap(bytes_);
  sent_ = 0;
}

}  // namespace dnsfence::io
