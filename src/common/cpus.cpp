#include "common/cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace dnsfence::common {
namespace {

std::optional<std::uint64_t> number(std::string_view s) noexcept {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// CPUs in the affinity mask, with a mask large enough for the machine (CPU_SETSIZE is 1024).
unsigned affinity_cpus() noexcept {
  for (std::size_t cpus = 1024; cpus <= (1U << 16); cpus *= 2) {
    cpu_set_t* set = CPU_ALLOC(cpus);
    if (set == nullptr) break;
    const std::size_t size = CPU_ALLOC_SIZE(cpus);
    CPU_ZERO_S(size, set);
    const int rc = sched_getaffinity(0, size, set);
    const int n = rc == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (rc == 0) return static_cast<unsigned>(n);
    if (errno != EINVAL) break;  // EINVAL: the kernel's mask is larger than ours
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

bool has_cpu(std::string_view controllers) noexcept {
  while (!controllers.empty()) {
    const auto comma = controllers.find(',');
    if (controllers.substr(0, comma) == "cpu") return true;
    if (comma == std::string_view::npos) break;
    controllers.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view trimmed(std::string_view s) noexcept {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

// cgroup v1's cpu controller: cpu.cfs_quota_us is -1 without a quota.
std::optional<double> cfs_quota(std::string_view quota_text, std::string_view period_text) noexcept {
  const auto quota = number(trimmed(quota_text));
  const auto period = number(trimmed(period_text));
  if (!quota || !period || *quota == 0 || *period == 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

}  // namespace

std::optional<double> parse_cpu_max(std::string_view text) noexcept {
  text = trimmed(text);
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota = number(text.substr(0, space));
  const auto period = number(text.substr(space + 1));
  if (!quota || !period || *period == 0) return std::nullopt;  // "max": no quota
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

std::optional<double> cgroup_cpu_quota(std::string_view proc_self_cgroup, const std::filesystem::path& root) {
  std::optional<double> tightest;
  auto consider = [&](std::optional<double> q) {
    if (q && (!tightest || *q < *tightest)) tightest = q;
  };
  // From the process's own cgroup up to the root: a parent's quota bounds every child.
  auto walk = [&](const std::filesystem::path& mount, std::string_view path, auto read_quota) {
    for (std::filesystem::path p = std::filesystem::path(path).relative_path();; p = p.parent_path()) {
      consider(read_quota(mount / p));
      if (p.empty()) break;
    }
  };
  while (!proc_self_cgroup.empty()) {
    const auto eol = proc_self_cgroup.find('\n');
    const std::string_view line = proc_self_cgroup.substr(0, eol);
    proc_self_cgroup.remove_prefix(eol == std::string_view::npos ? proc_self_cgroup.size() : eol + 1);
    // "0::/PATH" is cgroup v2; "N:CONTROLLERS:/PATH" a v1 hierarchy, mounted as root/CONTROLLERS.
    const auto c1 = line.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos || c2 + 1 >= line.size() || line[c2 + 1] != '/') continue;
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view path = line.substr(c2 + 1);
    if (line.substr(0, c1) == "0" && controllers.empty()) {
      walk(root, path, [](const std::filesystem::path& dir) { return parse_cpu_max(read_file(dir / "cpu.max")); });
    } else if (has_cpu(controllers)) {
      walk(root / std::string(controllers), path, [](const std::filesystem::path& dir) {
        return cfs_quota(read_file(dir / "cpu.cfs_quota_us"), read_file(dir / "cpu.cfs_period_us"));
      });
    }
  }
  return tightest;
}

unsigned usable_cpus(unsigned affinity, std::optional<double> quota) noexcept {
  unsigned n = std::max(1U, affinity);
  if (quota) n = std::min(n, static_cast<unsigned>(std::max(1.0, std::floor(*quota))));
  return n;
}

unsigned usable_cpus() noexcept {
  std::optional<double> quota;
  try {
    quota = cgroup_cpu_quota(read_file("/proc/self/cgroup"), "/sys/fs/cgroup");
  } catch (const std::exception&) {
    quota.reset();  // unreadable cgroup files (a filesystem error) impose no limit
  }
  return usable_cpus(affinity_cpus(), quota);
}

}  // namespace dnsfence::common
