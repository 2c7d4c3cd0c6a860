// serve.witness_*: the probe reporter's configuration (all four keys or none; errors at their line).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

#include "common/config.hpp"

namespace dnsfence::common {
namespace {

class ConfigWitness : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(key_) << "# reporter key\n" << std::string(64, 'a') << "\n";
    std::ofstream(short_key_) << "abcd\n";
  }
  void TearDown() override {
    std::remove(key_.c_str());
    std::remove(short_key_.c_str());
  }
  std::string toml(std::string_view extra) const {
    return "[serve]\nupstreams = [\"10.64.0.53\"]\nwitness_zone = \"leak.test\"\nwitness_url = "
           "\"http://192.0.2.53:8053\"\n"
           "witness_reporter = \"vpn-1\"\n" +
           std::string(extra);
  }
  static std::string error_of(const std::string& text) {
    try {
      parse_config(text, "t.toml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  // ctest runs each test in its own process, in parallel: every test writes files of its own.
  std::string prefix_ = ::testing::TempDir() + "config_witness." + std::to_string(::getpid()) + ".";
  std::string key_ = prefix_ + "reporter.key";
  std::string short_key_ = prefix_ + "short.key";
};

TEST_F(ConfigWitness, OffUnlessConfigured) {
  const Config c = parse_config("[serve]\nupstreams = [\"10.64.0.53\"]\n", "t.toml");
  EXPECT_FALSE(c.serve.witness.enabled);
}

TEST_F(ConfigWitness, AllFourKeysEnableIt) {
  const Config c = parse_config(toml("witness_key_file = \"" + key_ + "\"\nwitness_queue = 64\n"), "t.toml");
  const auto& w = c.serve.witness;
  EXPECT_TRUE(w.enabled);
  EXPECT_EQ(w.zone.to_text(), "leak.test.");
  EXPECT_EQ(w.url, "http://192.0.2.53:8053");
  EXPECT_EQ(w.reporter, "vpn-1");
  EXPECT_EQ(w.key, std::vector<std::uint8_t>(32, 0xaa));
  EXPECT_EQ(w.queue, 64U);
  EXPECT_EQ(w.interval, std::chrono::milliseconds(200));
}

TEST_F(ConfigWitness, RefusesPartsAndBadValuesAtTheirLine) {
  EXPECT_EQ(error_of(toml("")),
            "t.toml:3:16: serve.witness_zone, witness_url, witness_reporter and witness_key_file go together: give all "
            "four or none");
  EXPECT_EQ(error_of(toml("witness_key_file = \"/nonexistent/reporter.key\"\n")),
            "t.toml:6:20: serve.witness_key_file: cannot read /nonexistent/reporter.key");
  EXPECT_NE(error_of(toml("witness_key_file = \"" + short_key_ + "\"\n")).find("at least 16 octets"),
            std::string::npos);
  std::string https = toml("witness_key_file = \"" + key_ + "\"\n");
  https.replace(https.find("http://"), 7, "https://");
  EXPECT_EQ(error_of(https), "t.toml:4:15: serve.witness_url: must be http://ADDRESS[:PORT] (serve speaks no TLS)");
  std::string name = toml("witness_key_file = \"" + key_ + "\"\n");
  name.replace(name.find("vpn-1"), 5, "vpn 1");
  EXPECT_EQ(error_of(name), "t.toml:5:20: serve.witness_reporter: 1 to 64 of A-Z a-z 0-9 . _ -");
  EXPECT_EQ(error_of(toml("witness_key_file = \"" + key_ + "\"\nwitness_queue = 0\n")),
            "t.toml:7:17: serve.witness_queue must be between 1 and 65536");
}

}  // namespace
}  // namespace dnsfence::common
