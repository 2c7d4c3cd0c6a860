// The --watch loop: wait for a change, re-run, hand both reports to the printer; bounded.
#include <algorithm>

#include "detector/watch.hpp"

namespace dnsfence::detector {

Report watch(ChangeWatcher& watcher, Report initial, const std::function<Report()>& run,
             const std::function<void(const Rerun&)>& print, const WatchLimits& limits,
             const std::function<bool()>& stop) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  Report last = std::move(initial);
  int runs = 0;
  while (!stop() && (limits.runs <= 0 || runs < limits.runs)) {
    auto wait = limits.poll;
    if (limits.timeout.count() > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(started + limits.timeout - Clock::now());
      if (left.count() <= 0) break;
      wait = std::min(wait, left);
    }
    const std::string what = watcher.wait(wait, limits.settle);
    if (what.empty()) continue;
    Report now = run();
    ++runs;
    print(Rerun{runs, what, &last, &now});
    last = std::move(now);
  }
  return last;
}

}  // namespace dnsfence::detector
