#pragma once
// The one configuration file shared by `serve` and `firewall` (default /etc/dnsfence/dnsfence.toml),
// so the proxy and the firewall cannot disagree about listeners or the allowlist. Loading is
// control plane: it throws ConfigError("FILE:LINE:COL: reason") and never returns a partial config.
// packaging/dnsfence.toml is the annotated example with every key.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_error.hpp"
#include "common/net.hpp"
#include "dns/name.hpp"

namespace dnsfence::common {

inline constexpr const char* kDefaultConfigPath = "/etc/dnsfence/dnsfence.toml";

/// How `serve` receives intercepted queries.
enum class InterceptMode : std::uint8_t { Redirect, Tproxy };
/// What `serve` does with a new query when its in-flight table is full.
enum class WhenFull : std::uint8_t { ServFail, Drop };
/// Local answers for operator-listed names.
enum class NameAction : std::uint8_t { NxDomain, NoData, Refused, Drop };
/// Tproxy mode: what to do with a query by the resolver it was originally addressed to.
enum class DestinationAction : std::uint8_t { Redirect, Pass, Refuse };

struct NameRule {
  dns::Name name;  // matches the name and everything below it
  NameAction action = NameAction::NxDomain;
};

struct DestinationRule {
  Prefix prefix;
  DestinationAction action = DestinationAction::Redirect;
};

/// Names the proxy answers itself, never forwarding them.
struct Canaries {
  bool doh = true;                    // use-application-dns.net -> NXDOMAIN (Mozilla's DoH canary)
  bool ddr = true;                    // resolver.arpa (RFC 9462 DDR) -> NODATA
  bool icloud_private_relay = false;  // mask.icloud.com, mask-h2.icloud.com -> NXDOMAIN
};

/// Probe reports to a leak-test witness (`serve.witness_*`): for queries under `zone` only, serve
/// tells the witness at `url` the address the client really asked (tproxy mode). See
/// common/probe_report.hpp for the contract.
struct WitnessReporting {
  bool enabled = false;                     // all of zone, url, reporter and key_file given
  dns::Name zone;                           // the witness's zone; no other name is ever reported
  std::string url;                          // "http://192.0.2.53:8053" (an address, not a host name; no TLS)
  std::string reporter;                     // this server's name in the witness's [[witness.reporters]]
  std::vector<std::uint8_t> key;            // the reporter's HMAC key, read from witness_key_file (hex)
  unsigned queue = 256;                     // reports waiting per worker; beyond it they are dropped and counted
  std::chrono::milliseconds interval{200};  // how often a batch is sent
};

/// The most upstreams `serve.upstreams` may list (and the most distinct upstreams one `serve`
/// process uses over all its reloads).
inline constexpr std::size_t kMaxUpstreams = 16;

struct ServeConfig {
  std::vector<SocketAddress> listen;  // plain listeners (redirect mode: the DNAT target)
  InterceptMode mode = InterceptMode::Redirect;
  std::vector<SocketAddress> tproxy_listen;  // transparent listeners (tproxy mode)
  std::vector<SocketAddress> upstreams;      // the provider's trusted resolvers
  unsigned workers = 0;                      // 0: one per core
  unsigned max_inflight = 10000;             // per worker
  WhenFull when_full = WhenFull::ServFail;
  std::chrono::milliseconds upstream_timeout{1500};
  std::chrono::milliseconds health_check_interval{1000};
  unsigned upstream_max_failures = 5;  // consecutive missed answers that take an upstream out of rotation
  unsigned upstream_rise = 1;          // consecutive answers (health checks) that bring it back
  std::chrono::milliseconds tcp_idle_timeout{10000};
  std::chrono::milliseconds tcp_total_timeout{60000};
  unsigned tcp_max_connections = 1000;
  unsigned tcp_max_connections_per_client = 32;    // 0: no cap
  unsigned tcp_max_inflight_per_connection = 100;  // queries read and not yet answered, per connection
  unsigned tcp_max_queued_bytes = 131072;          // answers waiting for a client that does not read
  unsigned udp_receive_buffer = 0;                 // bytes per UDP listener socket; 0: the kernel's default
  std::string metrics = "127.0.0.1:9153";          // empty: no metrics endpoint
  std::string user = "dnsfence";                   // run as this account after binding; "root": keep root
  bool debug_log = false;                          // the only way query names are ever logged
  Canaries canaries;
  std::vector<NameRule> names;
  std::vector<DestinationRule> destinations;
  WitnessReporting witness;
};

enum class FirewallProfile : std::uint8_t { Server, Client };
enum class FirewallMode : std::uint8_t { Block, Redirect, Tproxy };
enum class FirewallBackend : std::uint8_t { Nft, Iptables };

struct FirewallConfig {
  FirewallProfile profile = FirewallProfile::Server;
  FirewallMode mode = FirewallMode::Redirect;
  FirewallBackend backend = FirewallBackend::Nft;
  std::vector<std::string> interfaces;  // server: VPN client interfaces the rules apply to
  std::vector<Prefix> sources;          // server: VPN client prefixes the rules apply to
  bool reject = true;                   // block mode: ICMP unreachable / TCP reset instead of drop
  bool block_encrypted = true;          // DoT and DoQ (853) except to allowlisted resolvers
  std::string doh_addresses_file;       // optional: addresses of DoH endpoints rejected on 443
  std::uint32_t tproxy_mark = 0x1;
  std::uint32_t tproxy_table = 100;
  std::string tunnel;                // client: the tunnel interface DNS must use
  std::vector<IpAddress> resolvers;  // client: the VPN's resolvers
};

struct Config {
  std::string source;  // the file it came from, for messages
  ServeConfig serve;
  FirewallConfig firewall;
  std::vector<Prefix> allowlist;  // resolvers users chose: exempt from block, redirect and tproxy
};

/// Why `name` cannot be a network interface name in dnsfence's rules, "" when it can: 1 to 15
/// characters, only letters, digits, '.', '_' and '-', not starting with '-', not "." or "..". Every
/// interface name reaches an nft script or an iptables argument: nothing else may get that far.
std::string interface_name_problem(std::string_view name);

/// Reads and validates a configuration file. Throws ConfigError naming file, line and reason.
Config load_config(const std::filesystem::path& path);
/// Same, from text; `source` names it in errors.
Config parse_config(std::string_view text, std::string_view source);

}  // namespace dnsfence::common
