#include "common/cpus.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace dnsfence::common {
namespace {

TEST(CpuMax, ParsesQuotaAndPeriod) {
  EXPECT_DOUBLE_EQ(*parse_cpu_max("150000 100000\n"), 1.5);
  EXPECT_DOUBLE_EQ(*parse_cpu_max("50000 100000"), 0.5);
  EXPECT_FALSE(parse_cpu_max("max 100000\n").has_value());
  EXPECT_FALSE(parse_cpu_max("").has_value());
  EXPECT_FALSE(parse_cpu_max("100000 0").has_value());
  EXPECT_FALSE(parse_cpu_max("x 100000").has_value());
}

TEST(UsableCpus, AffinityCappedByTheQuota) {
  EXPECT_EQ(usable_cpus(8, std::nullopt), 8U);
  EXPECT_EQ(usable_cpus(8, 2.0), 2U);
  EXPECT_EQ(usable_cpus(8, 1.5), 1U);
  EXPECT_EQ(usable_cpus(8, 0.2), 1U);
  EXPECT_EQ(usable_cpus(1, 4.0), 1U);
  EXPECT_EQ(usable_cpus(0, std::nullopt), 1U);
}

// A fake /sys/fs/cgroup in a temporary directory.
class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("dnsfence-cgroup-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& relative, const std::string& text) {
    const auto p = root_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::filesystem::path root_;
};

TEST_F(CgroupTree, V2QuotaOnTheProcessCgroup) {
  write("system.slice/dnsfence.service/cpu.max", "200000 100000\n");
  EXPECT_DOUBLE_EQ(*cgroup_cpu_quota("0::/system.slice/dnsfence.service\n", root_), 2.0);
}

TEST_F(CgroupTree, V2TightestAncestorWins) {
  write("cpu.max", "max 100000\n");
  write("a/cpu.max", "100000 100000\n");
  write("a/b/cpu.max", "max 100000\n");
  write("a/b/c/cpu.max", "300000 100000\n");
  EXPECT_DOUBLE_EQ(*cgroup_cpu_quota("0::/a/b/c\n", root_), 1.0);
}

TEST_F(CgroupTree, NoQuotaAnywhere) {
  write("a/cpu.max", "max 100000\n");
  EXPECT_FALSE(cgroup_cpu_quota("0::/a\n", root_).has_value());
  EXPECT_FALSE(cgroup_cpu_quota("0::/not/there\n", root_).has_value());
  EXPECT_FALSE(cgroup_cpu_quota("", root_).has_value());
}

TEST_F(CgroupTree, V1CpuController) {
  write("cpu,cpuacct/docker/x/cpu.cfs_quota_us", "50000\n");
  write("cpu,cpuacct/docker/x/cpu.cfs_period_us", "100000\n");
  write("cpu,cpuacct/docker/cpu.cfs_quota_us", "-1\n");
  write("cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
  const std::string self = "12:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n0::/\n";
  EXPECT_DOUBLE_EQ(*cgroup_cpu_quota(self, root_), 0.5);
  EXPECT_FALSE(cgroup_cpu_quota("4:cpuset:/docker/x\n", root_).has_value());  // not the cpu controller
}

TEST(UsableCpus, ThisProcessHasAtLeastOne) {
  EXPECT_GE(usable_cpus(), 1U);
}

}  // namespace
}  // namespace dnsfence::common
