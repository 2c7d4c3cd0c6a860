#pragma once
// The `[witness]` table of a dnsfence TOML file. Control plane: loading throws ConfigError with
// "FILE:LINE: reason" for the first problem, so `--check-config` and startup report the same.
//
//   [witness]
//   zone = "witness.example"                      # required
//   listen = ["192.0.2.53:53", "[2001:db8::53]:53"]
//   api = "127.0.0.1:8053"                        # HTTP JSON API (and /metrics)
//   metrics = "127.0.0.1:9153"                    # optional: a separate /metrics listener
//   key_file = "/etc/dnsfence/witness.key"        # or key = "<hex>"; neither: a random key per process
//   user = "dnsfence"                             # run as this account once bound; "root" keeps root
//   hostmaster = "hostmaster.witness.example"
//   answer_a = ["192.0.2.80"]   answer_aaaa = ["2001:db8::80"]
//   answer_ttl = 0   negative_ttl = 60   run_ttl = 3600   max_runs = 1000   max_resolvers_per_run = 64
//   probes_per_run = 4   max_delay_ms = 5000   max_pending_delays = 1024   max_tcp_connections = 64
//   [[witness.ns]]      name = "ns1.witness.example"  addresses = ["192.0.2.53", "2001:db8::53"]
//   [[witness.ns_v4]]   name = "ns4.witness.example"  addresses = ["192.0.2.54"]     # v4.<zone>
//   [[witness.ns_v6]]   name = "ns6.witness.example"  addresses = ["2001:db8::54"]   # v6.<zone>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "witness/responder.hpp"
#include "witness/store.hpp"

namespace dnsfence::witness {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::uint16_t kDefaultApiPort = 8053;

struct WitnessConfig {
  ZoneConfig zone;
  std::vector<common::SocketAddress> listen;
  common::SocketAddress api;
  std::optional<common::SocketAddress> metrics;
  std::vector<std::uint8_t> key;  // empty: generate one at startup
  StoreLimits limits;
  std::size_t probes_per_run = 4;
  std::size_t max_pending_delays = 1024;
  std::size_t max_tcp_connections = 64;
  std::string user = "dnsfence";  // the account to run as once bound (common/privileges.hpp)
};

/// Parses TOML text; `source` names it in errors ("FILE:LINE: reason"). Relative key files are
/// read relative to the working directory. Throws ConfigError.
WitnessConfig parse_config(std::string_view toml_text, const std::string& source);
/// Reads and parses a file. Throws ConfigError (also when the file cannot be read).
WitnessConfig load_config(const std::string& path);
/// A config from command-line quick-start values only (no file). Throws ConfigError.
WitnessConfig quick_config(const std::string& zone, const std::vector<std::string>& listen, const std::string& api);
/// Reads a key file: hex text (at least 32 digits) or, failing that, raw bytes. Throws ConfigError.
std::vector<std::uint8_t> read_key_file(const std::string& path);
/// Fills defaults that depend on other fields (ns from listen, hostmaster) and checks the whole
/// config for consistency. Throws ConfigError naming `source`.
void finalize(WitnessConfig& config, const std::string& source);

}  // namespace dnsfence::witness
