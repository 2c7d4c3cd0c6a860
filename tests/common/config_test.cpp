#include "common/config.hpp"

#include <gtest/gtest.h>

namespace dnsfence::common {
namespace {

std::string error_of(std::string_view text) {
  try {
    parse_config(text, "t.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Config, TheAnnotatedExampleLoadsWithEveryKey) {
  const Config c = load_config(DNSFENCE_SOURCE_DIR "/packaging/dnsfence.toml");
  EXPECT_EQ(c.serve.upstreams.at(0).to_string(), "10.64.0.53:53");
  EXPECT_EQ(c.serve.listen.at(0).to_string(), "10.8.0.1:53");
  EXPECT_EQ(c.serve.listen.at(1).to_string(), "[fd00:8::1]:53");
  EXPECT_TRUE(c.serve.canaries.doh);
  EXPECT_FALSE(c.serve.canaries.icloud_private_relay);
  ASSERT_EQ(c.serve.names.size(), 1U);
  EXPECT_EQ(c.serve.names[0].name.to_text(), "tracker.example.");
  ASSERT_EQ(c.serve.destinations.size(), 1U);
  EXPECT_EQ(c.serve.destinations[0].action, DestinationAction::Refuse);
  ASSERT_EQ(c.allowlist.size(), 2U);
  EXPECT_EQ(c.allowlist[1].to_string(), "2001:db8:53::53/128");
  EXPECT_EQ(c.firewall.mode, FirewallMode::Redirect);
  EXPECT_EQ(c.firewall.sources.size(), 2U);
  EXPECT_EQ(c.serve.tcp_max_connections_per_client, 32U);
  EXPECT_EQ(c.serve.tcp_max_queued_bytes, 131072U);
}

TEST(Config, DefaultsWhenSectionsAreAbsent) {
  const Config c = parse_config("", "empty.toml");
  EXPECT_EQ(c.serve.max_inflight, 10000U);
  EXPECT_EQ(c.serve.udp_receive_buffer, 0U);  // the kernel's default, as dnsdist and unbound
  EXPECT_EQ(c.serve.upstream_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.serve.tcp_max_connections_per_client, 32U);
  EXPECT_EQ(c.serve.tcp_max_inflight_per_connection, 100U);
  EXPECT_EQ(c.serve.tcp_max_queued_bytes, 131072U);
  EXPECT_EQ(c.firewall.profile, FirewallProfile::Server);
  EXPECT_TRUE(c.allowlist.empty());
}

TEST(Config, ErrorsNameFileLineAndReason) {
  EXPECT_EQ(error_of("[serve]\nupstreams = [\"10.0.0.1\"]\nworkers = \"two\"\n"),
            "t.toml:3:11: serve.workers must be an integer");
  EXPECT_EQ(error_of("[serve]\nupstreams = [\"10.0.0.1\"]\nmode = \"dnat\"\n"),
            "t.toml:3:8: serve.mode must be one of redirect, tproxy, not 'dnat'");
  EXPECT_EQ(error_of("[serve]\nupstreams = [\"10.0.0.1\", \"10.0.0.999\"]\n"),
            "t.toml:2:26: serve.upstreams: invalid IP address '10.0.0.999'");
  EXPECT_EQ(error_of("[serve]\nupstreams = [\"10.0.0.1\"]\nupstream_timout_ms = 5\n"),
            "t.toml:3:22: unknown key serve.upstream_timout_ms");
  EXPECT_EQ(error_of("[allowlist]\naddresses = [\"10.0.0.1/8\"]\n"),
            "t.toml:2:14: allowlist.addresses: host bits set in prefix '10.0.0.1/8'");
  EXPECT_EQ(error_of("[serve]\nupstreams = [\"10.0.0.1\"]\nmax_inflight = 0\n"),
            "t.toml:3:16: serve.max_inflight must be between 1 and 1000000");
  EXPECT_EQ(error_of("[serve]\nudp_receive_buffer = -1\n"),
            "t.toml:2:22: serve.udp_receive_buffer must be between 0 and 1073741824");
  EXPECT_EQ(error_of("[serve]\ntcp_max_inflight_per_connection = 0\n"),
            "t.toml:2:35: serve.tcp_max_inflight_per_connection must be between 1 and 65535");
  // One answer of the largest size must always fit the queue.
  EXPECT_EQ(error_of("[serve]\ntcp_max_queued_bytes = 4096\n"),
            "t.toml:2:24: serve.tcp_max_queued_bytes must be between 65537 and 1073741824");
  EXPECT_EQ(error_of("[[serve.names]]\nname = \"a..b\"\n"), "t.toml:1:1: serve.names.name: empty label");
  EXPECT_EQ(error_of("[bogus]\n"), "t.toml:1:1: unknown key bogus");
}

TEST(Config, UpstreamsBeyondTheLimitOrRepeatedAreErrorsAtTheirLine) {
  std::string list;
  for (int i = 1; i <= 17; ++i) list += (i > 1 ? ",\n  " : "") + ("\"10.0.0." + std::to_string(i) + "\"");
  EXPECT_EQ(error_of("[serve]\nupstreams = [\n  " + list + "]\n"), "t.toml:19:3: serve.upstreams: at most 16 entries");
  EXPECT_EQ(error_of("[serve]\nupstreams = [\"10.0.0.1\", \"10.0.0.1:53\"]\n"),
            "t.toml:2:26: serve.upstreams: '10.0.0.1:53' is listed twice");
  list.resize(list.rfind(','));  // 16 is fine
  EXPECT_EQ(parse_config("[serve]\nupstreams = [\n  " + list + "]\n", "t.toml").serve.upstreams.size(), 16U);
}

TEST(Config, SyntaxErrorsCarryTheirPosition) {
  const std::string e = error_of("[serve]\nlisten = [\"127.0.0.1:53\"\n");
  EXPECT_TRUE(e.starts_with("t.toml:2:")) << e;
  EXPECT_NE(e.find("end-of-file"), std::string::npos) << e;
}

TEST(Config, CrossKeyRules) {
  EXPECT_EQ(error_of("[serve]\nlisten = [\"127.0.0.1:53\"]\n"),
            "t.toml:1:1: serve.upstreams: at least one upstream resolver is required");
  EXPECT_EQ(error_of("[serve]\nupstreams = [\"10.0.0.1\"]\nmode = \"tproxy\"\n"),
            "t.toml:1:1: serve.mode = \"tproxy\" needs serve.tproxy_listen");
  EXPECT_EQ(error_of("[firewall]\nprofile = \"client\"\n"),
            "t.toml:1:1: firewall.profile = \"client\" needs firewall.tunnel and firewall.resolvers");
}

TEST(Config, MissingFileIsAClearError) {
  EXPECT_THROW(load_config("/nonexistent/dnsfence.toml"), ConfigError);
}

}  // namespace
}  // namespace dnsfence::common
