#include "io/poller.hpp"

#include <cerrno>
#include <system_error>

namespace dnsfence::io {

Poller::Poller() : fd_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!fd_.valid()) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

bool Poller::add(int fd, std::uint64_t t, std::uint32_t events) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = t;
  return epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool Poller::modify(int fd, std::uint64_t t, std::uint32_t events) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = t;
  return epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Poller::remove(int fd) noexcept {
  epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

int Poller::wait(std::span<epoll_event> events, int timeout_ms) noexcept {
  const int n = epoll_wait(fd_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
  return n < 0 ? 0 : n;
}

}  // namespace dnsfence::io
