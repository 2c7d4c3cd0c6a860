// The Linux ChangeWatcher: rtnetlink multicast groups through libmnl, and inotify.
#include "detector/watch.hpp"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

namespace dnsfence::detector {
namespace {

// rtnetlink groups, as the legacy bit mask bind() takes (every group here is below 32).
constexpr unsigned kGroups =
    RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_RULE;

constexpr std::uint32_t kFileEvents = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr std::uint32_t kDirEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE;

std::string kind(std::uint16_t type) {
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
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return "routes";
    default:
      return "";
  }
}

int on_message(const nlmsghdr* h, void* data) {
  auto* what = static_cast<std::set<std::string>*>(data);
  if (std::string k = kind(h->nlmsg_type); !k.empty()) what->insert(std::move(k));
  return MNL_CB_OK;
}

class LinuxWatcher final : public ChangeWatcher {
 public:
  explicit LinuxWatcher(const WatchedPaths& paths) : paths_(paths) {
    open_netlink();
    in_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in_ >= 0) {
      for (const auto& f : paths_.files) {
        add(f, kFileEvents, f);
        const auto dir = std::filesystem::path(f).parent_path().string();
        add(dir, kDirEvents, "");
        dir_files_[dir].insert(std::filesystem::path(f).filename().string());
      }
      for (const auto& d : paths_.directories) add(d, kDirEvents, d);
    }
    if (nl_ == nullptr && in_ < 0) throw std::runtime_error("--watch: neither rtnetlink nor inotify is available");
  }
  ~LinuxWatcher() override {
    if (nl_ != nullptr) mnl_socket_close(nl_);
    if (in_ >= 0) ::close(in_);
  }
  LinuxWatcher(const LinuxWatcher&) = delete;
  LinuxWatcher& operator=(const LinuxWatcher&) = delete;

  std::string wait(std::chrono::milliseconds timeout, std::chrono::milliseconds settle) override {
    std::set<std::string> what;
    // Wait for the first relevant event, then merge whatever follows within `settle`.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (what.empty()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !poll_once(left, what)) break;
    }
    if (what.empty()) return "";
    while (poll_once(settle, what)) {
    }
    std::string out;
    for (const auto& w : what) out += (out.empty() ? "" : ", ") + w;
    return out;
  }

 private:
  void open_netlink() {
    nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (nl_ != nullptr && mnl_socket_bind(nl_, kGroups, MNL_SOCKET_AUTOPID) < 0) {
      mnl_socket_close(nl_);
      nl_ = nullptr;
      return;
    }
    if (nl_ != nullptr) {
      int group = RTNLGRP_IPV6_RULE;  // beyond the legacy mask's reach on some headers: join it
      mnl_socket_setsockopt(nl_, NETLINK_ADD_MEMBERSHIP, &group, sizeof group);
    }
  }

  // Watches `path` if it exists; `label` names it in descriptions ("" = report by child name).
  void add(const std::string& path, std::uint32_t mask, const std::string& label) {
    const int wd = ::inotify_add_watch(in_, path.c_str(), mask);
    if (wd >= 0) labels_[wd] = label.empty() ? path : label;
  }

  // Waits once; drains and names whatever arrived. False on timeout.
  bool poll_once(std::chrono::milliseconds timeout, std::set<std::string>& what) {
    std::array<pollfd, 2> p{pollfd{nl_ != nullptr ? mnl_socket_get_fd(nl_) : -1, POLLIN, 0}, pollfd{in_, POLLIN, 0}};
    if (::poll(p.data(), p.size(), static_cast<int>(timeout.count())) <= 0) return false;
    if ((p[0].revents & POLLIN) != 0) drain_netlink(what);
    if ((p[1].revents & POLLIN) != 0) drain_inotify(what);
    return true;
  }

  void drain_netlink(std::set<std::string>& what) {
    std::array<char, 32768> buf{};  // MNL_SOCKET_BUFFER_SIZE is not constexpr
    ssize_t n = 0;
    while ((n = mnl_socket_recvfrom(nl_, buf.data(), buf.size())) > 0) {
      mnl_cb_run(buf.data(), static_cast<std::size_t>(n), 0, 0, on_message, &what);
    }
    if (n < 0 && errno == ENOBUFS) what.insert("routes");  // overrun: something changed, re-run
  }

  void drain_inotify(std::set<std::string>& what) {
    alignas(inotify_event) std::array<char, 8192> buf{};
    ssize_t n = 0;
    std::set<std::string> rewatch;
    while ((n = ::read(in_, buf.data(), buf.size())) > 0) {
      for (ssize_t off = 0; off < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf.data() + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        const auto it = labels_.find(e->wd);
        if (it == labels_.end()) continue;
        const std::string child = e->len > 0 ? std::string(e->name) : "";
        if (const auto d = dir_files_.find(it->second); d != dir_files_.end() && !child.empty()) {
          if (!d->second.contains(child)) continue;  // another file in /etc: not ours
          what.insert((std::filesystem::path(it->second) / child).string());
          rewatch.insert((std::filesystem::path(it->second) / child).string());
        } else {
          what.insert(it->second);
          if ((e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0) rewatch.insert(it->second);
        }
      }
    }
    // A file replaced by rename is a new inode: watch the new one.
    for (const auto& f : rewatch) {
      if (std::ranges::find(paths_.files, f) != paths_.files.end()) add(f, kFileEvents, f);
    }
  }

  WatchedPaths paths_;
  mnl_socket* nl_ = nullptr;
  int in_ = -1;
  std::map<int, std::string> labels_;                       // watch descriptor -> path reported
  std::map<std::string, std::set<std::string>> dir_files_;  // directory of a file -> file names
};

}  // namespace

WatchedPaths resolver_configuration_paths(const std::string& resolv_conf) {
  return {{resolv_conf, "/run/systemd/resolve/resolv.conf", "/run/systemd/resolve/stub-resolv.conf"},
          {"/var/lib/dhcp", "/run/systemd/netif/leases", "/run/udhcpc"}};
}

std::unique_ptr<ChangeWatcher> make_linux_watcher(const WatchedPaths& paths) {
  return std::make_unique<LinuxWatcher>(paths);
}

}  // namespace dnsfence::detector
