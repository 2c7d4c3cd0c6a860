#pragma once
// Runs a helper program (nft's peers: ip, ipset, iptables-restore; nmcli) the one safe way: argv
// straight to posix_spawnp, never a shell, so no operator string is ever parsed as shell syntax;
// stdin fed and stdout/stderr drained together (no deadlock on large input or output); EINTR
// retried; SIGPIPE neither kills the caller (a program that exits before reading all its input)
// nor is inherited ignored by the child; output bounded.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dnsfence::common {

/// What the program did.
struct SpawnResult {
  int status = 127;        ///< exit status; 128 + N when killed by signal N; 127 when it never ran
  std::string out;         ///< its standard output, at most SpawnOptions::max_output bytes
  std::string err;         ///< its standard error, same bound
  bool truncated = false;  ///< some output past the bound was read and discarded
  std::string error;       ///< why it could not be started ("cannot run ipset: No such file or directory")

  /// True when it ran and exited 0.
  [[nodiscard]] bool ok() const noexcept { return status == 0 && error.empty(); }
  /// One line for an error message: "ipset restore: exit 1: <its stderr, trimmed>", or `error`.
  [[nodiscard]] std::string describe(const std::vector<std::string>& argv) const;
};

struct SpawnOptions {
  std::string input;                   ///< written to its stdin, which is then closed (empty: at once)
  std::size_t max_output = 16U << 20;  ///< per stream; the rest is read and discarded
};

/// Runs argv[0] (searched in PATH like execvp) with `argv`, no shell, in the caller's environment,
/// and waits for it. Never throws for the program's own failures: a program that cannot be started
/// gives status 127 and `error`. Throws std::bad_alloc only. Blocks until the program exits and
/// closes its output; thread-safe (SIGPIPE is blocked in the calling thread only while writing).
SpawnResult spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

/// The path of `program` found in PATH (an executable regular file), or "" when there is none. A
/// name with a '/' is checked as given.
std::string find_program(std::string_view program);

}  // namespace dnsfence::common
