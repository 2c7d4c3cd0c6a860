#include "witness/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace dnsfence::witness {
namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "w.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// A private directory for key files, removed at the end.
class KeyDir {
 public:
  KeyDir() {
    std::string tmpl = std::filesystem::temp_directory_path() / "dnsfence-keys.XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~KeyDir() { std::filesystem::remove_all(path_); }
  KeyDir(const KeyDir&) = delete;
  KeyDir& operator=(const KeyDir&) = delete;
  std::string write(const std::string& name, mode_t mode, const std::string& text = std::string(64, 'a')) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    ::chmod(file.c_str(), mode);
    return file;
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(WitnessConfig, ParsesAFullWitnessTable) {
  const WitnessConfig c = parse_config(R"(
[witness]
zone = "witness.test"
listen = ["192.0.2.53", "[2001:db8::53]:5353"]
api = "127.0.0.1:9000"
operator = "127.0.0.1"
key = "000102030405060708090a0b0c0d0e0f"
answer_a = ["192.0.2.80"]
run_ttl = 120
max_runs = 5
max_resolvers_per_run = 3
max_probes_per_run = 40
store = "redis://[2001:db8::6]:6380"
store_buffer = 1000
runs_per_minute = 10
run_burst = 3
rrl_rate = 50
rrl_slip = 1
rrl_exempt = ["198.51.100.0/24"]
http_max_connections = 500
[[witness.ns]]
name = "ns1.witness.test"
addresses = ["192.0.2.53"]
[[witness.ns_v6]]
name = "ns6.witness.test"
addresses = ["2001:db8::54"]
)",
                                       "w.toml");
  EXPECT_EQ(c.zone.zone.to_text(), "witness.test.");
  ASSERT_EQ(c.listen.size(), 2U);
  EXPECT_EQ(c.listen[0].port(), 53);
  EXPECT_EQ(c.listen[1].to_string(), "[2001:db8::53]:5353");
  EXPECT_EQ(c.api.to_string(), "127.0.0.1:9000");
  EXPECT_EQ(c.operator_api->to_string(), "127.0.0.1:9154");
  EXPECT_EQ(c.key.size(), 16U);
  EXPECT_EQ(c.limits.run_ttl, std::chrono::seconds(120));
  EXPECT_EQ(c.zone.run_ttl, std::chrono::seconds(120));  // what the responder checks tokens against
  EXPECT_EQ(c.limits.max_runs, 5U);
  EXPECT_EQ(c.limits.max_resolvers_per_run, 3U);
  EXPECT_EQ(c.probes_per_run, 4U);
  EXPECT_EQ(c.max_probes_per_run, 40U);
  EXPECT_EQ(c.store, "redis://[2001:db8::6]:6380");
  EXPECT_EQ(c.store_buffer, 1000U);
  EXPECT_EQ(c.run_rate.per_minute, 10U);
  EXPECT_EQ(c.run_rate.burst, 3U);
  EXPECT_EQ(c.rrl.rate, 50U);
  EXPECT_EQ(c.rrl.slip, 1U);
  ASSERT_EQ(c.rrl.exempt.size(), 1U);
  EXPECT_EQ(c.http.max_connections, 500U);
  ASSERT_EQ(c.zone.ns_v6.size(), 1U);
  EXPECT_TRUE(c.zone.ns_v4.empty());
  EXPECT_EQ(c.zone.soa_rname.to_text(), "hostmaster.witness.test.");
}

TEST(WitnessConfig, ErrorsNameFileLineColumnAndReason) {
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\nlisten = [\"nope\"]\n"),
            "w.toml:3:11: witness.listen: invalid IP address 'nope'");
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\n\nmax_runs = 0\n"),
            "w.toml:4:12: witness.max_runs must be between 1 and 1000000");
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\ntypo = 1\n"), "w.toml:3:8: unknown key witness.typo");
  EXPECT_EQ(
      error_of(
          "[witness]\nzone = \"w.test\"\n[[witness.ns_v4]]\nname = \"ns4.w.test\"\naddresses = [\"2001:db8::1\"]\n"),
      "w.toml:5:14: witness.ns_v4.addresses: only IPv4 addresses belong here, not '2001:db8::1'");
  EXPECT_EQ(error_of("[witness]\nlisten = []\n"), "w.toml:1:1: witness.zone is required (and cannot be the root)");
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\nlisten = []\n"),
            "w.toml:3:10: witness.listen: at least one address is required");
  EXPECT_EQ(
      error_of("[witness]\nzone = \"w.test\"\nstore = \"redis:/x\"\n"),
      "w.toml:3:9: witness.store: expected \"memory\", \"redis://HOST[:PORT]\" or \"unix:/PATH\", not 'redis:/x'");
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\nprobes_per_run = 150\n"),
            "w.toml:3:18: witness.probes_per_run: more than max_probes_per_run (100)");
  EXPECT_EQ(error_of("[witness]\nzone = \"w.test\"\noperator = \"127.0.0.1\"\nmetrics = \"127.0.0.1\"\n"),
            "w.toml:4:11: witness.metrics: give operator or metrics, not both");
  EXPECT_EQ(error_of("[other]\n"), "w.toml:1:1: missing [witness] table");
  EXPECT_EQ(error_of("[witness\nzone=1").substr(0, 9), "w.toml:1:");
}

TEST(WitnessConfig, MetricsIsTheOldNameOfTheOperatorListener) {
  const WitnessConfig c = parse_config("[witness]\nzone = \"w.test\"\nmetrics = \"127.0.0.1:9999\"\n", "w.toml");
  EXPECT_EQ(c.operator_api->port(), 9999);
  EXPECT_FALSE(parse_config("[witness]\nzone = \"w.test\"\n", "w.toml").operator_api);
}

TEST(WitnessConfig, KeyFilesMustBePrivate) {
  const KeyDir dir;
  const std::string open = dir.write("open.key", 0644);
  const std::string group = dir.write("group.key", 0640);
  const std::string fine = dir.write("fine.key", 0600);
  EXPECT_EQ(read_key_file(fine).size(), 32U);  // 64 hex digits
  for (const auto& f : {open, group}) {
    try {
      read_key_file(f);
      ADD_FAILURE() << f << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("is open to group or others"), std::string::npos) << e.what();
    }
  }
  const std::string text = "[witness]\nzone = \"w.test\"\nkey_file = \"" + open + "\"\n";
  EXPECT_EQ(error_of(text).substr(0, 31), "w.toml:3:12: witness.key_file: ");
  EXPECT_THROW(read_key_file(dir.write("short.key", 0600, "abcd")), ConfigError);
}

TEST(WitnessConfig, KeysComeFromSystemdCredentials) {
  const KeyDir dir;
  dir.write("witness.key", 0400, std::string(64, 'b'));
  dir.write("witness-next.key", 0400, std::string(64, 'c'));
  ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  const WitnessConfig c = parse_config(
      "[witness]\nzone = \"w.test\"\nkey_file = \"credential:witness.key\"\n"
      "accepted_key_files = [\"credential:witness-next.key\"]\n",
      "w.toml");
  EXPECT_EQ(c.key, std::vector<std::uint8_t>(32, 0xbb));
  ASSERT_EQ(c.accepted_keys.size(), 1U);
  EXPECT_EQ(c.accepted_keys[0], std::vector<std::uint8_t>(32, 0xcc));
  EXPECT_THROW(read_key_file("credential:../etc/passwd"), ConfigError);
  ::unsetenv("CREDENTIALS_DIRECTORY");
  try {
    read_key_file("credential:witness.key");
    ADD_FAILURE() << "no CREDENTIALS_DIRECTORY, yet a credential was read";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("CREDENTIALS_DIRECTORY"), std::string::npos);
  }
}

// The shipped example is valid as it stands, with its key where the unit puts it.
TEST(WitnessConfig, ThePackagedExampleLoads) {
  const KeyDir dir;
  dir.write("witness.key", 0400);
  ::setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  const WitnessConfig c = load_config(DNSFENCE_SOURCE_DIR "/packaging/witness.toml");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_EQ(c.zone.zone.to_text(), "witness.example.");
  EXPECT_TRUE(c.operator_api.has_value());
  EXPECT_GE(c.max_probes_per_run, 41U);  // leaktest with ten resolvers: 1 + 4 per resolver
  EXPECT_FALSE(c.key.empty());
}

TEST(WitnessConfig, QuickStartDerivesTheNameServer) {
  const WitnessConfig c = quick_config("w.test", {"192.0.2.53:5353", "0.0.0.0"}, "");
  ASSERT_EQ(c.zone.ns.size(), 1U);
  EXPECT_EQ(c.zone.ns[0].name.to_text(), "ns1.w.test.");
  ASSERT_EQ(c.zone.ns[0].addresses.size(), 1U);  // the wildcard is no address for glue
  EXPECT_EQ(c.api.port(), kDefaultApiPort);
  EXPECT_THROW(quick_config("", {}, ""), ConfigError);
}

}  // namespace
}  // namespace dnsfence::witness
