#pragma once
// `leaktest --watch`: change notification for routes, links, addresses and policy rules (rtnetlink
// multicast through libmnl) and resolver configuration files (inotify), behind ChangeWatcher so
// other platforms can follow; and the re-run loop, pure apart from its collaborators.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "detector/model.hpp"

namespace dnsfence::detector {

/// Tells when something that may change the verdict changed.
class ChangeWatcher {
 public:
  virtual ~ChangeWatcher() = default;
  /// Waits at most `timeout`; returns a short description of what changed ("routes",
  /// "links, /etc/resolv.conf"), or "" on timeout. Events arriving within `settle` of the last
  /// one are merged into one description.
  virtual std::string wait(std::chrono::milliseconds timeout, std::chrono::milliseconds settle) = 0;
};

/// What the Linux watcher observes: files (watched themselves, which also catches writes through
/// a bind mount such as `ip netns exec`'s /etc/resolv.conf, and through their directory, which
/// catches replacement by rename) and directories (any file created, written, moved or deleted).
struct WatchedPaths {
  std::vector<std::string> files;
  std::vector<std::string> directories;
};

/// The resolver configuration leaktest's inventory reads: `resolv_conf`, systemd-resolved's
/// resolv.conf files, and the DHCP lease directories of dhclient, systemd-networkd and udhcpc.
WatchedPaths resolver_configuration_paths(const std::string& resolv_conf);

/// Linux: rtnetlink groups for links, IPv4/IPv6 routes, addresses and rules (libmnl), and inotify
/// on `paths` (absent ones are skipped). Subscribes before returning, so a change made after this
/// returns is never missed. Throws std::runtime_error if neither rtnetlink nor inotify works.
std::unique_ptr<ChangeWatcher> make_linux_watcher(const WatchedPaths& paths);

/// Bounds of a watch: 0 means unbounded.
struct WatchLimits {
  int runs = 0;                           // stop after this many re-runs
  std::chrono::milliseconds timeout{0};   // stop this long after the watch started
  std::chrono::milliseconds poll{1000};   // how often `stop` is checked while nothing happens
  std::chrono::milliseconds settle{500};  // changes this close together make one re-run
};

/// One re-run, for the printer: its number (1, 2, ...), what triggered it, the reports before and
/// after.
struct Rerun {
  int number = 0;
  std::string trigger;
  const Report* before = nullptr;
  const Report* after = nullptr;
};

/// Waits for changes and re-runs `run` after each, calling `print` with the reports before and
/// after, until `stop()` says so or a limit is reached. Returns the last report (the initial one
/// if nothing changed), whose verdict gives the exit code. Exceptions from `run` propagate.
Report watch(ChangeWatcher& watcher, Report initial, const std::function<Report()>& run,
             const std::function<void(const Rerun&)>& print, const WatchLimits& limits,
             const std::function<bool()>& stop);

}  // namespace dnsfence::detector
