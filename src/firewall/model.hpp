#pragma once
// The firewall's typed ruleset: sets, chains and rules built from the shared Config. Both renderers
// (nft and iptables) read this model, so the two backends cannot drift apart. Every rule has a
// stable name, used as its nft comment / iptables comment and as its counter label in `status`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/net.hpp"

namespace dnsfence::firewall {

inline constexpr const char* kTableName = "dnsfence";

enum class Family : std::uint8_t { Any, V4, V6 };
enum class Proto : std::uint8_t { Udp, Tcp };
enum class Verdict : std::uint8_t { Return, Drop, Reject, Dnat, Redirect, Tproxy, Goto };
/// Where a base chain hooks in; Chain::hook is empty for chains only reached by `goto`.
enum class Hook : std::uint8_t { None, Prerouting, Forward, Output };
/// nft chain type / iptables table of a base chain.
enum class ChainKind : std::uint8_t { Filter, Nat, Mangle };

/// A named set of addresses. `interval` sets hold prefixes (nft `flags interval`, ipset hash:net);
/// the others hold single addresses only (nft hash set, ipset hash:ip), which load faster.
struct AddressSet {
  std::string name{};  // e.g. "allow_v4"
  Family family = Family::V4;
  std::vector<common::Prefix> elements{};
  bool interval = true;
};

struct Rule {
  std::string name{};  // stable label: nft comment, counter name
  Family family = Family::Any;
  std::vector<std::string> iifnames{};
  bool iif_negate = false;
  std::string oifname{};
  std::string saddr_set{};  // name of an AddressSet (implies its family)
  std::string daddr_set{};
  bool ct_dnat = false;  // only connections already DNATed (redirect mode, remote listener)
  std::optional<Proto> proto{};
  std::vector<std::uint16_t> dports{};
  bool counter = true;
  Verdict verdict = Verdict::Return;
  std::optional<common::SocketAddress> target{};  // Dnat, Tproxy (unspecified address: local)
  std::uint16_t target_port = 0;                  // Redirect, Tproxy
  std::uint32_t mark = 0;                         // Tproxy
  std::string goto_chain{};                       // Goto
};

struct Chain {
  std::string name{};
  Hook hook = Hook::None;
  ChainKind kind = ChainKind::Filter;
  std::vector<Rule> rules{};
};

/// Policy routing tproxy needs: fwmark `mark` -> table `table` holding `local default dev lo`.
struct PolicyRoute {
  std::uint32_t mark = 0;
  std::uint32_t table = 0;
};

struct Ruleset {
  std::vector<AddressSet> sets;
  std::vector<Chain> chains;
  std::optional<PolicyRoute> policy_route;

  /// The set named `name`, or nullptr.
  [[nodiscard]] const AddressSet* find_set(const std::string& name) const;
};

/// Builds the ruleset for `config.firewall.profile`. Throws common::ConfigError for a configuration
/// that cannot be enforced (no client scope, a redirect target the kernel cannot reach, an
/// unreadable DoH address file, an interface name the loader would have refused).
Ruleset build_ruleset(const common::Config& config);

/// Throws std::invalid_argument naming the first set, chain, rule or referenced name that is not
/// [a-z0-9_-]+, or interface name that common::interface_name_problem refuses. Both renderers call
/// it first, so no string that could change a script's meaning reaches nft or iptables, whoever
/// built the model.
void check_names(const Ruleset& rs);

/// Reads a DoH address file: one address or prefix per line, '#' comments. Throws ConfigError
/// "FILE:LINE: reason".
std::vector<common::Prefix> load_address_file(const std::string& path);

/// V4 or V6: the family of the prefix's address.
Family family_of(const common::Prefix& p);

/// True for a /32 or /128 prefix: a single address.
bool is_host(const common::Prefix& p);

/// The allowlist set that holds `p`: allow_v4 / allow_v6 for single addresses, allow_net_v4 /
/// allow_net_v6 for prefixes.
std::string allowlist_set(const common::Prefix& p);

/// Every allowlist set name, in the order the ruleset declares them.
inline constexpr const char* kAllowlistSets[] = {"allow_v4", "allow_v6", "allow_net_v4", "allow_net_v6"};

}  // namespace dnsfence::firewall
