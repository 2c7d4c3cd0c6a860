#pragma once
// The `[witness]` table of a dnsfence TOML file, read by the shared reader (common/toml_reader.hpp).
// Control plane: loading throws ConfigError "FILE:LINE:COL: reason" for the first problem, so
// `--check-config`, startup and a reload report the same. packaging/witness.toml shows every key.
//
//   [witness]
//   zone = "witness.example"                      # required
//   listen = ["192.0.2.53:53", "[2001:db8::53]:53"]
//   api = "127.0.0.1:8053"                        # public HTTP: create a run, read it by its key
//   operator = "127.0.0.1:9154"                   # operator HTTP: /metrics, /healthz, /status
//   key_file = "credential:witness.key"           # or a path, or key = "<hex>"; none: random per process
//   accepted_key_files = ["/etc/dnsfence/witness-next.key"]   # rotation: verify-only keys
//   user = "dnsfence"                             # run as this account once bound; "root" keeps root
//   store = "memory"                              # or "redis://10.0.0.5:6379", "unix:/run/redis/redis.sock"
//   store_password_file = "credential:redis.pass" # Redis AUTH, when it has requirepass
//   [[witness.resolvers]]  name = "Example VPN"  prefixes = ["192.0.2.2/32", "10.64.0.0/24"]   # the page's roles
//   [[witness.reporters]]  name = "vpn-1"  key_file = "/etc/dnsfence/reporter-vpn-1.key"  sources = ["192.0.2.2"]
//   ... limits, answers and name servers: see WitnessConfig and packaging/witness.toml

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_error.hpp"
#include "common/net.hpp"
#include "witness/rate_limit.hpp"
#include "witness/reports.hpp"
#include "witness/responder.hpp"
#include "witness/roles.hpp"
#include "witness/rrl.hpp"
#include "witness/store.hpp"

namespace dnsfence::witness {

using common::ConfigError;

inline constexpr std::uint16_t kDefaultApiPort = 8053;
inline constexpr std::uint16_t kDefaultOperatorPort = 9154;

struct HttpConfig {
  std::size_t max_connections = 1024;           // public listener, in all
  std::size_t max_connections_per_client = 32;  // per client address (a browser page opens several)
};

struct WitnessConfig {
  ZoneConfig zone;
  std::vector<common::SocketAddress> listen;
  common::SocketAddress api;                             // the public listener
  std::optional<common::SocketAddress> operator_api;     // metrics, health, status; none if unset
  std::vector<std::uint8_t> key;                         // mints tokens; empty: a random one at startup
  std::vector<std::vector<std::uint8_t>> accepted_keys;  // verify only (rotation)
  StoreLimits limits;
  std::string user = "dnsfence";     // the account to run as once bound (common/privileges.hpp)
  std::string store = "memory";      // "memory", "redis://HOST:PORT" or "unix:/PATH"
  std::size_t store_buffer = 65536;  // observations held while Redis is unreachable
  std::string store_password;        // Redis AUTH (requirepass), from store_password_file
  std::size_t probes_per_run = 4;    // a run created without {"count": N}
  std::size_t max_probes_per_run = 100;
  std::size_t max_pending_delays = 1024;
  std::size_t max_tcp_connections = 64;
  RateLimit run_rate;
  RrlConfig rrl;
  HttpConfig http;
  std::vector<ResolverRole> roles;        // the VPN's own resolvers, for the browser page
  std::vector<ReporterConfig> reporters;  // VPN servers whose probe reports are accepted
};

/// Parses TOML text; `source` names it in errors. Relative key files are read relative to the
/// working directory. Throws ConfigError.
WitnessConfig parse_config(std::string_view toml_text, const std::string& source);
/// Reads and parses a file. Throws ConfigError (also when the file cannot be read).
WitnessConfig load_config(const std::string& path);
/// A config from command-line quick-start values only (no file). Throws ConfigError.
WitnessConfig quick_config(const std::string& zone, const std::vector<std::string>& listen, const std::string& api);

/// Reads a file holding a secret: `spec` is a path, or "credential:NAME" for
/// $CREDENTIALS_DIRECTORY/NAME; a file readable or writable by group or others is refused. Throws
/// ConfigError saying why not.
std::string read_secret_file(const std::string& spec);
/// Reads a key: `spec` is a path, or "credential:NAME" for $CREDENTIALS_DIRECTORY/NAME (systemd's
/// LoadCredential=). The file holds hex (at least 32 digits) or at least 32 raw octets, and must
/// not be readable or writable by group or others. Throws ConfigError saying why not.
std::vector<std::uint8_t> read_key_file(const std::string& spec);

}  // namespace dnsfence::witness
