#include "detector/watch.hpp"

#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace dnsfence::detector {
namespace {

class LinuxWatcher final : public ChangeWatcher {
 public:
  explicit LinuxWatcher(const std::vector<std::string>& files) {
    nl_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
                   RTMGRP_IPV4_RULE;
    if (nl_ >= 0 && ::bind(nl_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
      ::close(nl_);
      nl_ = -1;
    }
    in_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    std::set<std::string> dirs;
    for (const auto& f : files) dirs.insert(std::filesystem::path(f).parent_path().string());
    for (const auto& d : dirs) {
      if (in_ >= 0) ::inotify_add_watch(in_, d.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
    }
    if (nl_ < 0 && in_ < 0) throw std::runtime_error("--watch: neither rtnetlink nor inotify is available");
  }
  ~LinuxWatcher() override {
    if (nl_ >= 0) ::close(nl_);
    if (in_ >= 0) ::close(in_);
  }
  LinuxWatcher(const LinuxWatcher&) = delete;
  LinuxWatcher& operator=(const LinuxWatcher&) = delete;

  std::string wait(std::chrono::milliseconds timeout, std::chrono::milliseconds settle) override {
    std::set<std::string> what;
    if (!poll_once(timeout, what)) return "";
    while (poll_once(settle, what)) {
    }
    std::string out;
    for (const auto& w : what) out += (out.empty() ? "" : ", ") + w;
    return out;
  }

 private:
  // Waits once; drains and names whatever arrived.
  bool poll_once(std::chrono::milliseconds timeout, std::set<std::string>& what) {
    std::array<pollfd, 2> p{pollfd{nl_, POLLIN, 0}, pollfd{in_, POLLIN, 0}};
    if (::poll(p.data(), p.size(), static_cast<int>(timeout.count())) <= 0) return false;
    std::array<char, 8192> buf{};
    if ((p[0].revents & POLLIN) != 0) {
      ssize_t n = 0;
      while ((n = ::recv(nl_, buf.data(), buf.size(), 0)) > 0) {
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, static_cast<unsigned>(n));
             h = NLMSG_NEXT(h, n)) {
          what.insert(kind(h->nlmsg_type));
        }
      }
    }
    if ((p[1].revents & POLLIN) != 0) {
      while (::read(in_, buf.data(), buf.size()) > 0) what.insert("resolver configuration files");
    }
    return true;
  }

  static std::string kind(std::uint16_t type) {
    switch (type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        return "links";
      case RTM_NEWADDR:
      case RTM_DELADDR:
        return "addresses";
      case RTM_NEWRULE:
      case RTM_DELRULE:
        return "policy rules";
      default:
        return "routes";
    }
  }

  int nl_ = -1;
  int in_ = -1;
};

}  // namespace

std::unique_ptr<ChangeWatcher> make_linux_watcher(const std::vector<std::string>& files) {
  return std::make_unique<LinuxWatcher>(files);
}

}  // namespace dnsfence::detector
