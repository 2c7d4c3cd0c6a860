#pragma once
// How many CPUs this process may actually use, for "one worker per core" (`workers = 0`): the
// CPUs of its affinity mask (taskset, systemd's CPUAffinity=, a container's cpuset), further
// capped by a cgroup CPU quota (v2 cpu.max, or v1 cpu.cfs_quota_us: systemd's CPUQuota=, a
// container's --cpus) where one is set. std::thread::hardware_concurrency counts the machine's CPUs instead: more
// workers than usable CPUs fight over them.

#include <filesystem>
#include <optional>
#include <string_view>

namespace dnsfence::common {

/// The CPUs a quota line of a cgroup v2 `cpu.max` file allows: "QUOTA PERIOD" gives QUOTA/PERIOD,
/// "max PERIOD" (no limit) or anything malformed gives nullopt.
std::optional<double> parse_cpu_max(std::string_view text) noexcept;

/// The tightest CPU quota, in CPUs, on the process's cgroup and every ancestor, from the text of
/// /proc/self/cgroup and the files under `root` (/sys/fs/cgroup): cgroup v2 ("0::/PATH":
/// root/PATH/cpu.max) and a v1 hierarchy with the cpu controller ("N:cpu,cpuacct:/PATH":
/// root/cpu,cpuacct/PATH/cpu.cfs_quota_us and cpu.cfs_period_us). nullopt: no quota anywhere.
std::optional<double> cgroup_cpu_quota(std::string_view proc_self_cgroup, const std::filesystem::path& root);

/// Workers for `affinity` usable CPUs under `quota` CPUs: min(affinity, floor(quota)), at least 1
/// (a quota of 1.5 CPUs makes 1 worker: a second would be throttled half the time).
unsigned usable_cpus(unsigned affinity, std::optional<double> quota) noexcept;

/// usable_cpus() for this process: sched_getaffinity, and /proc/self/cgroup under /sys/fs/cgroup.
/// Never fails: what cannot be read imposes no limit (at least 1).
unsigned usable_cpus() noexcept;

}  // namespace dnsfence::common
