#include "detector/watch.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>

#include "detector/facts_json.hpp"
#include "detector/report.hpp"

namespace dnsfence::detector {
namespace {

using namespace std::chrono_literals;

// Hands out scripted changes, one per wait; "" (a timeout) once they are used up.
class ScriptedWatcher final : public ChangeWatcher {
 public:
  explicit ScriptedWatcher(std::deque<std::string> changes) : changes_(std::move(changes)) {}
  std::string wait(std::chrono::milliseconds /*timeout*/, std::chrono::milliseconds /*settle*/) override {
    ++waits;
    if (changes_.empty()) return "";
    std::string c = changes_.front();
    changes_.pop_front();
    return c;
  }
  int waits = 0;

 private:
  std::deque<std::string> changes_;
};

Report report(Verdict v, const char* resolver) {
  Report r;
  r.findings.push_back(Finding{v, *IpAddress::parse(resolver), "why", {}, {}, {}});
  r.overall = v;
  return r;
}

TEST(Watch, ReRunsOnEachChangeAndStopsAfterTheRunLimit) {
  ScriptedWatcher w({"", "routes", "", "/etc/resolv.conf", "links"});
  int runs = 0;
  std::vector<std::string> printed;
  WatchLimits limits;
  limits.runs = 2;
  const Report last = watch(
      w, report(Verdict::Ok, "10.0.0.1"),
      [&] { return report(++runs == 1 ? Verdict::LeakType1 : Verdict::LeakType2, "10.0.0.1"); },
      [&](const Rerun& r) {
        printed.push_back(std::to_string(r.number) + " " + r.trigger + " " + verdict_name(r.before->overall) + "->" +
                          verdict_name(r.after->overall));
      },
      limits, [] { return false; });
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(printed,
            (std::vector<std::string>{"1 routes OK->LEAK-TYPE1", "2 /etc/resolv.conf LEAK-TYPE1->LEAK-TYPE2"}));
  EXPECT_EQ(last.overall, Verdict::LeakType2);  // the exit code follows the last run
  EXPECT_EQ(w.waits, 4);                        // "links" was never waited for
}

TEST(Watch, StopsOnTheTimeoutOrTheStopFlagWithTheInitialReport) {
  ScriptedWatcher w({});
  WatchLimits limits;
  limits.timeout = 50ms;
  limits.poll = 10ms;
  const auto start = std::chrono::steady_clock::now();
  const Report last = watch(
      w, report(Verdict::Stealth, "10.0.0.1"), [] { return Report{}; }, [](const Rerun&) { FAIL(); }, limits,
      [] { return false; });
  EXPECT_EQ(last.overall, Verdict::Stealth);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_GE(w.waits, 1);
  ScriptedWatcher never({"routes"});
  watch(never, Report{}, [] { return Report{}; }, [](const Rerun&) { FAIL(); }, WatchLimits{}, [] { return true; });
  EXPECT_EQ(never.waits, 0);
}

TEST(Watch, DiffJsonHoldsOnlyWhatChanged) {
  Report before = report(Verdict::Ok, "10.0.0.1");
  before.findings.push_back(Finding{Verdict::Ok, *IpAddress::parse("10.0.0.2"), "same", {}, {}, {}});
  Report after = report(Verdict::LeakType1, "10.0.0.1");
  after.findings.push_back(before.findings.back());
  const auto j = report_diff_json(before, after);
  EXPECT_EQ(j["previous_overall"], "OK");
  EXPECT_EQ(j["overall"], "LEAK-TYPE1");
  EXPECT_EQ(j["exit_code"], 1);
  ASSERT_EQ(j["added"].size(), 1U);
  EXPECT_EQ(j["added"][0]["verdict"], "LEAK-TYPE1");
  ASSERT_EQ(j["removed"].size(), 1U);
  EXPECT_EQ(j["removed"][0]["resolver"], "10.0.0.1");
  EXPECT_EQ(report_diff(before, after).find("10.0.0.2"), std::string::npos);
}

// inotify needs no privilege: a watched file written in place, or replaced by rename, is reported
// by its path; another file in the same directory is not.
TEST(Watch, LinuxWatcherSeesTheResolverFileNotItsNeighbours) {
  std::string dir = (std::filesystem::temp_directory_path() / "dnsfence-watch-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string file = dir + "/resolv.conf";
  std::ofstream(file) << "nameserver 192.0.2.1\n";
  auto w = make_linux_watcher(WatchedPaths{{file}, {}});
  while (!w->wait(0ms, 0ms).empty()) {
  }
  std::ofstream(dir + "/hosts") << "neighbour\n";
  EXPECT_EQ(w->wait(100ms, 10ms), "");
  std::ofstream(file) << "nameserver 192.0.2.2\n";
  EXPECT_EQ(w->wait(2000ms, 50ms), file);
  std::ofstream(dir + "/resolv.conf.new") << "nameserver 192.0.2.3\n";
  std::filesystem::rename(dir + "/resolv.conf.new", file);
  EXPECT_EQ(w->wait(2000ms, 50ms), file);
  std::ofstream(file) << "nameserver 192.0.2.4\n";  // the new inode is watched too
  EXPECT_EQ(w->wait(2000ms, 50ms), file);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dnsfence::detector
