#pragma once
// Change notification for `leaktest --watch`: routes, links, addresses (rtnetlink multicast) and
// resolver configuration files (inotify). Behind ChangeWatcher so other platforms can follow.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dnsfence::detector {

/// Tells when something that may change the verdict changed.
class ChangeWatcher {
 public:
  virtual ~ChangeWatcher() = default;
  /// Waits at most `timeout`; returns a short description of what changed ("routes", "links",
  /// "/etc/resolv.conf"), or "" on timeout. Events arriving within `settle` are merged.
  virtual std::string wait(std::chrono::milliseconds timeout, std::chrono::milliseconds settle) = 0;
};

/// Linux: rtnetlink groups for links, IPv4/IPv6 routes, addresses and rules, and inotify on the
/// directories of `files`. Throws std::runtime_error if neither can be opened.
std::unique_ptr<ChangeWatcher> make_linux_watcher(const std::vector<std::string>& files);

}  // namespace dnsfence::detector
