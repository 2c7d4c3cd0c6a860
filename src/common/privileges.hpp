#pragma once
// Giving up root after binding, for every daemon (`serve`, the witness): fail closed, as Unbound
// and dnsdist do. The configured `user` must exist, or the daemon does not start; root is kept
// only when the operator names it (`user = "root"`, or any account with uid 0). After the switch
// nothing can be regained: no capability in any set, no_new_privs (an exec cannot gain any), and
// not dumpable (no core file, and /proc/PID is root's, so another process of the same user cannot
// read the daemon's memory or environment). Control plane: throws PrivilegeError.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace dnsfence::common {

/// A refused or failed privilege drop; what() names the user and the reason.
class PrivilegeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An account from the password database.
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

/// Looks `name` up in the password database (getpwnam_r, so NSS sources count). nullopt: no such
/// account. Throws PrivilegeError when the lookup itself fails (not the same as "no such user").
std::optional<Account> find_account(const std::string& name);

/// What drop_privileges does for a user, given who the process is.
struct DropPlan {
  enum class Kind : std::uint8_t {
    KeepRoot,  // the account has uid 0: the operator asked for root explicitly
    Switch,    // running as root: become the account
    StayAs,    // already running as the account (not root): only shed capabilities
  };
  Kind kind = Kind::Switch;
  Account account;
};

/// Decides, without changing anything, what dropping to `user` means for a process whose effective
/// uid is `euid`; `lookup` finds accounts (find_account outside tests). Throws PrivilegeError
/// naming the user: the name is empty; the account does not exist; or the process is neither root
/// nor that account (it could not switch).
DropPlan plan_drop(const std::string& user, uid_t euid,
                   const std::function<std::optional<Account>(const std::string&)>& lookup);

/// Carries out plan_drop(user, geteuid(), find_account): setgroups(none), setresgid, setresuid,
/// clears every capability; then no_new_privs and not dumpable in every case. Verifies the result
/// (ids, no capability, setuid(0) refused, the two prctl flags read back) and throws
/// PrivilegeError if anything differs. Call before starting threads. Returns a line for the log.
std::string drop_privileges(const std::string& user);

}  // namespace dnsfence::common
