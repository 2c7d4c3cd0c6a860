// common::spawn with real programs (sh, cat, head, true, grep): the cases every caller relies on.

#include "common/spawn.hpp"

#include <gtest/gtest.h>
#include <sys/time.h>

#include <csignal>
#include <string>

namespace dnsfence::common {
namespace {

TEST(Spawn, MissingProgramIsAnErrorNotACrash) {
  const auto r = spawn({"dnsfence-no-such-program", "x"});
  EXPECT_EQ(r.status, 127);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, "cannot run dnsfence-no-such-program: No such file or directory");
  EXPECT_EQ(r.describe({"dnsfence-no-such-program", "x"}), r.error);
  EXPECT_FALSE(spawn({}).ok());
}

TEST(Spawn, NonZeroExitWithItsStderr) {
  const std::vector<std::string> argv{"sh", "-c", "echo partial; echo 'bad line 3' >&2; exit 3"};
  const auto r = spawn(argv);
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.out, "partial\n");
  EXPECT_EQ(r.err, "bad line 3\n");
  EXPECT_EQ(r.describe(argv), "sh: exit 3: bad line 3");
}

TEST(Spawn, DeathBySignalIs128PlusSignal) {
  EXPECT_EQ(spawn({"sh", "-c", "kill -TERM $$"}).status, 128 + SIGTERM);
}

TEST(Spawn, ArgumentsAreNeverShellSyntax) {
  const auto r = spawn({"printf", "%s", "a\"; b $(id) `id` | c\n"});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "a\"; b $(id) `id` | c\n");
}

// More than a pipe's buffer in both directions at once: a helper that writes before it has read
// everything must not deadlock against us.
TEST(Spawn, LargeStdinAndStdoutTogether) {
  std::string input;
  for (int i = 0; input.size() < (8U << 20); ++i) input += "add dnsfence-allow-v4 10.0." + std::to_string(i) + "\n";
  const auto r = spawn({"cat"}, {.input = input, .max_output = 16U << 20});
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.out.size(), input.size());
  EXPECT_TRUE(r.out == input);
}

TEST(Spawn, OutputIsBoundedAndTheRestDrained) {
  const auto r = spawn({"head", "-c", "20000000", "/dev/zero"}, {.input = "", .max_output = 1U << 20});
  EXPECT_EQ(r.status, 0);  // not killed by SIGPIPE: we kept reading
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.out.size(), 1U << 20);
}

// A program that exits without reading its stdin: our write fails with EPIPE, and the SIGPIPE it
// raises (default action: death, as in this test binary) is neither fatal nor left pending.
TEST(Spawn, ProgramThatIgnoresItsStdinDoesNotKillTheCaller) {
  const auto r = spawn({"true"}, {.input = std::string(8U << 20, 'x'), .max_output = 1024});
  EXPECT_EQ(r.status, 0);
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
}

// An ignored SIGPIPE (dnsfence's main ignores it) survives exec; the child must get the default.
TEST(Spawn, ChildGetsDefaultSigpipe) {
  const auto old = std::signal(SIGPIPE, SIG_IGN);
  const auto r = spawn({"grep", "^SigIgn:", "/proc/self/status"});
  std::signal(SIGPIPE, old);
  ASSERT_TRUE(r.ok()) << r.describe({"grep"});
  const unsigned long ignored = std::stoul(r.out.substr(r.out.find(':') + 1), nullptr, 16);
  EXPECT_EQ(ignored & (1UL << (SIGPIPE - 1)), 0UL) << r.out;
}

void on_alarm(int /*unused*/) {}

// Signals arriving while we wait (a timer firing every millisecond, without SA_RESTART) interrupt
// poll, read and waitpid: each is retried.
TEST(Spawn, InterruptedBySignalsAndCarriesOn) {
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  struct sigaction old{};
  sigaction(SIGALRM, &sa, &old);
  itimerval every_ms{{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &every_ms, nullptr);
  const auto r = spawn({"sh", "-c", "sleep 0.3; echo done; cat"}, {.input = "and the input\n", .max_output = 1024});
  itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  sigaction(SIGALRM, &old, nullptr);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "done\nand the input\n");
}

TEST(Spawn, FindProgramSearchesPath) {
  EXPECT_FALSE(find_program("sh").empty());
  EXPECT_EQ(find_program("dnsfence-no-such-program"), "");
  EXPECT_EQ(find_program("/bin/sh"), "/bin/sh");
  EXPECT_EQ(find_program("/nonexistent/sh"), "");
  EXPECT_EQ(find_program("/proc/self/status"), "");  // exists, not executable (even for root)
}

}  // namespace
}  // namespace dnsfence::common
