#include "common/spawn.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace dnsfence::common {
namespace {

// A pipe whose ends close themselves.
struct Pipe {
  std::array<int, 2> fd{-1, -1};
  Pipe() = default;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
  bool open() { return ::pipe2(fd.data(), O_CLOEXEC) == 0; }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Blocks SIGPIPE in this thread for the scope, so a write to a program that closed its stdin fails
// with EPIPE instead of killing the caller; a SIGPIPE raised meanwhile is consumed before the old
// mask comes back (unless one was already pending before: that one is not ours).
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;
  ~SigpipeBlock() {
    if (!was_pending_) {
      const timespec zero{0, 0};
      while (::sigtimedwait(&pipe_, nullptr, &zero) == SIGPIPE) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  /// The mask the caller had: what the child starts with (minus SIGPIPE).
  [[nodiscard]] sigset_t child_mask() const {
    sigset_t m = old_;
    sigdelset(&m, SIGPIPE);
    return m;
  }

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

// Appends what `fd` has now to `to` (up to `max`, discarding the rest); false at EOF or error.
bool drain(int fd, std::string& to, std::size_t max, bool& truncated) {
  std::array<char, 65536> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      const auto got = static_cast<std::size_t>(n);
      const std::size_t keep = to.size() < max ? std::min(got, max - to.size()) : 0;
      to.append(buf.data(), keep);
      if (keep < got) truncated = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

// Writes as much of `data` from `done` as the pipe takes now; false when finished or the reader left.
bool feed(int fd, const std::string& data, std::size_t& done) {
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // EPIPE: it stopped reading
  }
  return false;
}

// Feeds stdin and drains stdout and stderr together, so neither side waits for the other.
void pump(Pipe& in, Pipe& out, Pipe& err, const SpawnOptions& o, SpawnResult& r) {
  std::size_t written = 0;
  if (!feed(in.fd[1], o.input, written)) in.close_end(1);
  // Until all three are done: a program may close its outputs and still read, or exit unread
  // (then the write end reports an error and is closed).
  while (in.fd[1] >= 0 || out.fd[0] >= 0 || err.fd[0] >= 0) {
    std::array<pollfd, 3> p{{{in.fd[1], POLLOUT, 0}, {out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}}};
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents != 0 && !feed(in.fd[1], o.input, written)) in.close_end(1);
    if (p[1].revents != 0 && !drain(out.fd[0], r.out, o.max_output, r.truncated)) out.close_end(0);
    if (p[2].revents != 0 && !drain(err.fd[0], r.err, o.max_output, r.truncated)) err.close_end(0);
  }
  in.close_end(1);
}

int wait_for(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return 128;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 128;
}

// posix_spawnp with the three pipes as stdin/stdout/stderr; returns 0 or an errno value.
int start(const std::vector<std::string>& argv, Pipe& in, Pipe& out, Pipe& err, const sigset_t& mask, pid_t& pid) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
  // The child gets the caller's mask and a default SIGPIPE (an ignored signal survives exec).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setsigdefault(&attr, &pipe);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

}  // namespace

std::string SpawnResult::describe(const std::vector<std::string>& argv) const {
  if (!error.empty()) return error;
  std::string cmd = argv.empty() ? "" : argv[0];
  if (argv.size() > 1 && !argv[1].starts_with('-')) cmd += " " + argv[1];  // "ipset restore"
  std::string why = err;
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  for (char& c : why)
    if (c == '\n') c = ' ';
  return cmd + ": exit " + std::to_string(status) + (why.empty() ? "" : ": " + why);
}

SpawnResult spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  SpawnResult r;
  if (argv.empty() || argv[0].empty()) {
    r.error = "cannot run an empty command";
    return r;
  }
  Pipe in;
  Pipe out;
  Pipe err;
  if (!in.open() || !out.open() || !err.open()) {
    r.error = "cannot run " + argv[0] + ": " + std::strerror(errno);
    return r;
  }
  const SigpipeBlock block;
  pid_t pid = -1;
  if (const int rc = start(argv, in, out, err, block.child_mask(), pid); rc != 0) {
    r.error = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);
  set_nonblocking(in.fd[1]);
  set_nonblocking(out.fd[0]);
  set_nonblocking(err.fd[0]);
  pump(in, out, err, options, r);
  r.status = wait_for(pid);
  return r;
}

std::string find_program(std::string_view program) {
  auto executable = [](const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
  };
  if (program.empty()) return "";
  if (program.find('/') != std::string_view::npos) return executable(std::string(program)) ? std::string(program) : "";
  const char* env = std::getenv("PATH");
  std::string_view path = env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const auto colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    std::string candidate;  // appended piece by piece: g++ 12's false -Wrestrict at -O3 (GCC bug 105329)
    candidate.append(dir.empty() ? std::string_view(".") : dir).append("/").append(program);
    if (executable(candidate)) return candidate;
    if (colon == std::string_view::npos) return "";
    path.remove_prefix(colon + 1);
  }
}

}  // namespace dnsfence::common
