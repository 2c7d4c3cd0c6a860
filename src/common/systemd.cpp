#include "common/systemd.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace dnsfence::common {
namespace {

// sd_notify(3), "Notes": one datagram of newline-separated assignments to the AF_UNIX socket
// named by $NOTIFY_SOCKET, a path or, after '@', an abstract name. systemd documents the protocol
// as stable and meant to be spoken without libsystemd; speaking it here keeps libsystemd and the
// compression libraries it brings out of the daemons (common/dynlib.hpp).
void notify(std::string_view message) noexcept {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr) return;
  const std::string_view path(env);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() < 2 || path.size() >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  (void)::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  ::close(fd);
}

// printf-style into a fixed buffer (no allocation, so nothing to throw); a longer text is cut.
template <typename... Args>
void notifyf(const char* format, Args... args) noexcept {
  std::array<char, 512> text{};
  const int n = std::snprintf(text.data(), text.size(), format, args...);
  if (n > 0) notify(std::string_view(text.data(), std::min(static_cast<std::size_t>(n), text.size() - 1)));
}

}  // namespace

void notify_ready(const char* status) noexcept {
  if (status == nullptr) {
    notify("READY=1");
  } else {
    notifyf("READY=1\nSTATUS=%s", status);
  }
}

void notify_reloading() noexcept {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                                                  static_cast<unsigned long long>(now.tv_nsec) / 1000ULL);
}

void notify_stopping() noexcept {
  notify("STOPPING=1");
}

}  // namespace dnsfence::common
