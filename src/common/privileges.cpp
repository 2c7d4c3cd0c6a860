#include "common/privileges.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace dnsfence::common {
namespace {

[[noreturn]] void fail(const std::string& user, const std::string& why) {
  throw PrivilegeError("user '" + user + "': " + why);
}

std::string errno_text(int e) {
  return std::strerror(e);
}

// The thread's capability sets (permitted, effective, inheritable) through the raw system calls:
// no libcap needed for "all of them, zero".
bool capabilities_empty() noexcept {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  for (const auto& d : data)
    if (d.permitted != 0 || d.effective != 0 || d.inheritable != 0) return false;
  return true;
}

void clear_capabilities(const std::string& user) {
  // Ambient capabilities (systemd's AmbientCapabilities=) would survive an exec; clear them first.
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capset, &header, data) != 0) fail(user, "cannot clear capabilities: " + errno_text(errno));
}

void switch_to(const Account& a) {
  // KEEPCAPS off: setresuid from root to another uid then empties the permitted set.
  prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
  if (setgroups(0, nullptr) != 0) fail(a.name, "setgroups: " + errno_text(errno));
  if (setresgid(a.gid, a.gid, a.gid) != 0) fail(a.name, "setresgid: " + errno_text(errno));
  if (setresuid(a.uid, a.uid, a.uid) != 0) fail(a.name, "setresuid: " + errno_text(errno));
}

// Checks, after the fact, that the process is exactly what the plan said.
void verify(const DropPlan& plan) {
  const std::string& user = plan.account.name;
  if (prctl(PR_GET_NO_NEW_PRIVS, 0L, 0L, 0L, 0L) != 1) fail(user, "no_new_privs is not set");
  if (prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L) != 0) fail(user, "the process is still dumpable");
  if (plan.kind == DropPlan::Kind::KeepRoot) return;
  uid_t r = 0, e = 0, s = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  if (getresuid(&r, &e, &s) != 0 || r != plan.account.uid || e != plan.account.uid || s != plan.account.uid)
    fail(user, "user ids did not change");
  if (plan.kind == DropPlan::Kind::Switch) {
    if (getresgid(&rg, &eg, &sg) != 0 || rg != plan.account.gid || eg != plan.account.gid || sg != plan.account.gid)
      fail(user, "group ids did not change");
    if (getgroups(0, nullptr) != 0) fail(user, "supplementary groups are left");
  }
  if (!capabilities_empty()) fail(user, "capabilities are left");
  // The classic last check (OpenSSH, ntpd): going back to root must be impossible.
  if (setuid(0) == 0) fail(user, "setuid(0) succeeded after the switch");
}

}  // namespace

std::optional<Account> find_account(const std::string& name) {
  long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
  for (;;) {
    passwd pw{};
    passwd* result = nullptr;
    const int rc = getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &result);
    if (rc == ERANGE && buffer.size() < (1U << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (result != nullptr) return Account{pw.pw_name, pw.pw_uid, pw.pw_gid};
    // "Not found" is 0 with no result in POSIX, and ENOENT, ESRCH, EBADF or EPERM in practice.
    if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) return std::nullopt;
    fail(name, "cannot look the account up: " + errno_text(rc));
  }
}

DropPlan plan_drop(const std::string& user, uid_t euid,
                   const std::function<std::optional<Account>(const std::string&)>& lookup) {
  if (user.empty()) fail(user, "no user named: name the account to run as (\"root\" to keep root, not recommended)");
  auto account = lookup(user);
  if (!account) fail(user, "does not exist (create it, or name another account to run as)");
  if (account->uid == 0 && euid == 0) return {DropPlan::Kind::KeepRoot, *account};
  if (euid == 0) return {DropPlan::Kind::Switch, *account};
  if (euid == account->uid) return {DropPlan::Kind::StayAs, *account};
  fail(user, "cannot switch to it: running as uid " + std::to_string(euid) +
                 ", not root (start as root, or name the account it runs as)");
}

std::string drop_privileges(const std::string& user) {
  const DropPlan plan = plan_drop(user, geteuid(), find_account);
  if (plan.kind == DropPlan::Kind::Switch) switch_to(plan.account);
  if (plan.kind != DropPlan::Kind::KeepRoot) clear_capabilities(user);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) fail(user, "PR_SET_NO_NEW_PRIVS: " + errno_text(errno));
  if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0) fail(user, "PR_SET_DUMPABLE: " + errno_text(errno));
  verify(plan);
  const std::string ids =
      " (uid " + std::to_string(plan.account.uid) + ", gid " + std::to_string(plan.account.gid) + ")";
  switch (plan.kind) {
    case DropPlan::Kind::KeepRoot:
      return "running as root: user '" + user + "' has uid 0, every capability kept (not recommended)";
    case DropPlan::Kind::Switch:
      return "running as user " + plan.account.name + ids + ", no capability";
    case DropPlan::Kind::StayAs:
      return "running as user " + plan.account.name + ids + " as started, no capability";
  }
  return {};
}

}  // namespace dnsfence::common
