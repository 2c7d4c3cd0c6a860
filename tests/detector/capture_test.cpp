// The real libpcap capture, in a network namespace of its own (root only: skipped otherwise).

#include "detector/capture.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "detector/probes.hpp"

namespace dnsfence::detector {
namespace {

bool loopback_up() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
  bool ok = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  ifr.ifr_flags |= IFF_UP;
  ok = ok && ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  ::close(fd);
  return ok;
}

// In the child: a fresh namespace whose only interface is lo, one CPU for the capture thread and
// the sender, a burst of `count` DNS queries sent without yielding, then the capture's account as
// "packets dropped observations error". The sender shares the only CPU with the capture thread
// and never yields, so that thread reads little during the burst: the kernel ring must hold it.
// (With immediate mode's ring of ~60 frames this kept about 2,100 of 5,000.)
std::string burst_in_own_namespace(int count) {
  if (::unshare(CLONE_NEWNET) != 0 || !loopback_up()) return "setup failed";
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  if (::sched_setaffinity(0, sizeof one, &one) != 0) return "setup failed";
  auto source = make_pcap_source("any", "", static_cast<std::size_t>(count) + 16);
  if (auto started = source->start(); !started) return "start: " + started.error();

  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(53);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < count; ++i) {
    const auto q = build_query("burst.example", static_cast<std::uint16_t>(i), 1);
    ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  ::close(fd);
  const CaptureResult r = source->stop();
  return std::to_string(r.packets) + " " + std::to_string(r.kernel_dropped) + " " +
         std::to_string(r.observations.size()) + " " + r.error;
}

TEST(Capture, ABurstArrivingWhileTheReaderCannotRunIsCapturedWhole) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace and a packet socket)";
  constexpr int kBurst = 5000;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    ::alarm(30);
    const std::string out = burst_in_own_namespace(kBurst);
    (void)!::write(pipe_fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n = 0; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child status " << status;
  // Every query once (lo delivers each frame once on "any"), none dropped, all decoded, no error.
  EXPECT_EQ(out, std::to_string(kBurst) + " 0 " + std::to_string(kBurst) + " ");
}

}  // namespace
}  // namespace dnsfence::detector
