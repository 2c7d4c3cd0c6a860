// The service notifications reach a socket standing in for systemd's, by path and by abstract
// name, exactly as sd_notify(3) describes the protocol; without NOTIFY_SOCKET nothing is sent.

#include "common/systemd.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

namespace dnsfence::common {
namespace {

// A datagram socket bound where NOTIFY_SOCKET says ("@name" is abstract), as systemd binds it.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@')
      addr.sun_path[0] = '\0';
    else
      path_ = name;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), offsetof(sockaddr_un, sun_path) + name.size()), 0);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The next datagram; "" if none arrives within `ms` (sendto has returned by then: it is local).
  std::string next(int ms = 5000) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1) return "";
    std::string text(1024, '\0');
    const ssize_t n = ::recv(fd_, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
  }

 private:
  int fd_;
  std::string path_;
};

std::string unique_name(const char* kind) {
  return std::string(kind) + "dnsfence-notify-" + std::to_string(::getpid());
}

TEST(Notify, SpeaksTheProtocolToAPathSocket) {
  const NotifySocket systemd(::testing::TempDir() + unique_name(""));
  notify_ready("serving on 192.0.2.1:53");
  EXPECT_EQ(systemd.next(), "READY=1\nSTATUS=serving on 192.0.2.1:53");
  notify_ready();
  EXPECT_EQ(systemd.next(), "READY=1");
  notify_stopping();
  EXPECT_EQ(systemd.next(), "STOPPING=1");
}

TEST(Notify, SpeaksTheProtocolToAnAbstractSocket) {
  const NotifySocket systemd(unique_name("@"));
  notify_reloading();
  const std::string m = systemd.next();
  ASSERT_EQ(m.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0U) << m;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = std::stoull(m.substr(m.find('=', 12) + 1));
  EXPECT_GT(usec, 0U);
  EXPECT_LE(usec, static_cast<unsigned long long>(now.tv_sec) * 1000000ULL + now.tv_nsec / 1000);
}

TEST(Notify, ALongStatusIsCutNotDropped) {
  const NotifySocket systemd(unique_name("@"));
  notify_ready(std::string(2000, 'x').c_str());
  const std::string m = systemd.next();
  EXPECT_EQ(m.rfind("READY=1\nSTATUS=xxx", 0), 0U);
  EXPECT_LT(m.size(), 1024U);
}

TEST(Notify, NothingWithoutNotifySocketOrWithABadOne) {
  const NotifySocket systemd(unique_name("@"));
  ::unsetenv("NOTIFY_SOCKET");
  notify_ready();
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);  // neither a path nor an abstract name
  notify_ready();
  ::setenv("NOTIFY_SOCKET", unique_name("@").c_str(), 1);
  notify_stopping();  // the one that must arrive: ends the wait below at once
  EXPECT_EQ(systemd.next(), "STOPPING=1") << "the two without a valid NOTIFY_SOCKET sent nothing";
}

}  // namespace
}  // namespace dnsfence::common
