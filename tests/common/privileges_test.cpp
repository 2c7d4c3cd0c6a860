#include "common/privileges.hpp"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

namespace dnsfence::common {
namespace {

// A password database of three accounts.
std::optional<Account> fake_lookup(const std::string& name) {
  static const std::map<std::string, Account> accounts = {
      {"root", {"root", 0, 0}}, {"dnsfence", {"dnsfence", 999, 998}}, {"alice", {"alice", 1000, 1000}}};
  const auto it = accounts.find(name);
  if (it == accounts.end()) return std::nullopt;
  return it->second;
}

std::string refusal(const std::string& user, uid_t euid) {
  try {
    plan_drop(user, euid, fake_lookup);
  } catch (const PrivilegeError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(PlanDrop, RootSwitchesToTheAccount) {
  const auto p = plan_drop("dnsfence", 0, fake_lookup);
  EXPECT_EQ(p.kind, DropPlan::Kind::Switch);
  EXPECT_EQ(p.account.uid, 999U);
  EXPECT_EQ(p.account.gid, 998U);
}

TEST(PlanDrop, AMissingUserIsRefusedByName) {
  EXPECT_EQ(refusal("ghost", 0), "user 'ghost': does not exist (create it, or name another account to run as)");
}

TEST(PlanDrop, RootOnlyWhenNamed) {
  EXPECT_EQ(plan_drop("root", 0, fake_lookup).kind, DropPlan::Kind::KeepRoot);
  EXPECT_NE(refusal("", 0).find("no user named"), std::string::npos);
}

TEST(PlanDrop, NotRootKeepsItsOwnAccountOnly) {
  EXPECT_EQ(plan_drop("alice", 1000, fake_lookup).kind, DropPlan::Kind::StayAs);
  EXPECT_NE(refusal("dnsfence", 1000).find("cannot switch to it: running as uid 1000"), std::string::npos);
  EXPECT_NE(refusal("root", 1000).find("user 'root'"), std::string::npos);
}

TEST(FindAccount, ReadsThePasswordDatabase) {
  const auto root = find_account("root");
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->uid, 0U);
  EXPECT_FALSE(find_account("dnsfence-no-such-user-here").has_value());
}

// Runs `body` in a child process and returns its exit status (the drop cannot be undone).
template <typename F>
int in_child(F body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

bool no_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return data[0].permitted == 0 && data[0].effective == 0 && data[1].permitted == 0 && data[1].effective == 0;
}

TEST(DropPrivileges, RootBecomesNobodyWithNothingLeft) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const auto nobody = find_account("nobody");
  if (!nobody) GTEST_SKIP() << "no user nobody";
  const int status = in_child([&] {
    try {
      drop_privileges("nobody");
    } catch (...) {
      return 1;
    }
    if (getuid() != nobody->uid || geteuid() != nobody->uid || getegid() != nobody->gid) return 2;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1) return 3;
    if (prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L) != 0) return 4;
    if (!no_capabilities()) return 5;
    if (setuid(0) == 0) return 6;
    return 0;
  });
  EXPECT_EQ(status, 0);
}

TEST(DropPrivileges, AMissingUserChangesNothing) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const int status = in_child([] {
    try {
      drop_privileges("dnsfence-no-such-user-here");
    } catch (const PrivilegeError& e) {
      const bool named =
          std::string(e.what()).find("'dnsfence-no-such-user-here': does not exist") != std::string::npos;
      return named && geteuid() == 0 && prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L) == 1 ? 0 : 2;
    }
    return 1;
  });
  EXPECT_EQ(status, 0);
}

TEST(DropPrivileges, ExplicitRootStaysRootButNotDumpable) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const int status = in_child([] {
    try {
      drop_privileges("root");
    } catch (...) {
      return 1;
    }
    return geteuid() == 0 && prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) == 1 &&
                   prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L) == 0
               ? 0
               : 2;
  });
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace dnsfence::common
