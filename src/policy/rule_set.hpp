#pragma once
// The proxy's policy: an immutable RuleSet compiled from the configuration. Selectors (a name and
// everything below it; an original-destination prefix) map onto closed action enums, after
// dnsdist's rules and Unbound's local-zone types. A RuleSet is never modified after compile():
// workers share it as std::shared_ptr<const RuleSet> and a reload swaps in a new one.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/config.hpp"
#include "common/net.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"
#include "policy/name_table.hpp"

namespace dnsfence::policy {

/// What a name rule does with a matching query. Closed: every caller handles every value.
enum class NameAction : std::uint8_t {
  NxDomain,  // answer NXDOMAIN locally
  NoData,    // answer NOERROR with no records locally
  Refused,   // answer REFUSED locally
  Drop,      // never answer
};

/// Where a query goes, by the resolver it was originally addressed to (tproxy mode).
enum class Route : std::uint8_t {
  Upstreams,  // the provider's trusted resolvers (the default)
  Pass,       // the address the client asked: a resolver the operator allowlisted
  Refuse,     // answer REFUSED locally
};

/// The class of a query's original destination, counted for every query: how many Type 2 leaks the
/// proxy prevented, and towards whom they would have gone.
enum class DestinationClass : std::uint8_t {
  Unknown,      // redirect mode: DNAT hid the original destination
  Provider,     // one of the trusted upstreams
  Allowlisted,  // a resolver the operator allowlisted (a "pass" destination or [allowlist])
  Private,      // RFC 1918, CGNAT, ULA, link-local, loopback: the coffee-shop DHCP resolver
  Public,       // any other address: a third-party resolver
};
inline constexpr std::size_t kDestinationClasses = 5;

/// A name rule: a name and every name below it. Its name lives in the RuleSet (RuleSet::suffix),
/// so that a 100,000-name blocklist costs a few tens of octets per name.
struct NameRule {
  std::string_view kind;  // "canary:doh", "canary:ddr", "canary:icloud" or "name" (operator names)
  NameAction action = NameAction::NxDomain;
  std::uint32_t position = 0;  // in RuleSet::name_rules(); the first match in this order wins
  std::uint32_t index = 0;     // its match counter's index: fixed for its identity (CounterSlots)
};

/// Control plane: a counter slot for each name rule identity (kind, name, action) for the life of
/// the process, so that a reload which inserts, removes or reorders rules never moves counts from
/// one rule to another. A rule that leaves and comes back finds its counter again. Identities past
/// `capacity` - 1 share the last slot, kOverflow, reported as one "other" series.
class CounterSlots {
 public:
  explicit CounterSlots(std::uint32_t capacity) : capacity_(capacity) {}
  /// The slot of `identity`, given a new one the first time it is seen.
  std::uint32_t slot(const std::string& identity);
  /// The shared slot of identities beyond the capacity.
  [[nodiscard]] std::uint32_t overflow() const noexcept { return capacity_ - 1; }

 private:
  std::uint32_t capacity_;
  std::unordered_map<std::string, std::uint32_t> slots_;
};

/// A destination rule.
struct DestinationRule {
  std::string label;
  common::Prefix prefix;
  Route route = Route::Upstreams;
  /// "192.0.2.0/24 -> refuse".
  [[nodiscard]] std::string describe() const;
};

/// The compiled, immutable policy.
class RuleSet {
 public:
  /// Compiles the serve configuration: canaries first (in the order doh, ddr, icloud), then the
  /// operator's names, then destinations and the allowlist. Throws common::ConfigError only for
  /// contradictions the loader could not see (none today); otherwise cannot fail.
  /// Each rule's counter `index` comes from `counters` (a reload passes the same one); without it, a
  /// rule's counter is its position.
  static std::shared_ptr<const RuleSet> compile(const common::Config& config, CounterSlots* counters = nullptr);

  /// The first name rule (in configuration order) whose name is the question name or one of its
  /// parents, or nullptr. Never allocates; costs one hash probe per label of the question name,
  /// whatever the number of rules.
  [[nodiscard]] const NameRule* match_name(const dns::Message& query) const noexcept;
  /// The route for an original destination: the longest matching destination rule, then the
  /// allowlist (Pass), then Upstreams. Without a destination (redirect mode): Upstreams.
  [[nodiscard]] Route route(const std::optional<common::IpAddress>& destination) const noexcept;
  /// The class a destination is counted under.
  [[nodiscard]] DestinationClass classify(const std::optional<common::IpAddress>& destination) const noexcept;

  [[nodiscard]] const std::vector<NameRule>& name_rules() const noexcept { return names_; }
  /// A name rule's name ("use-application-dns.net.", lowercase).
  [[nodiscard]] std::string suffix(const NameRule& rule) const;
  /// "canary:doh", or "name:tracker.example." for an operator's name.
  [[nodiscard]] std::string label(const NameRule& rule) const;
  /// "canary:doh: use-application-dns.net. -> nxdomain".
  [[nodiscard]] std::string describe(const NameRule& rule) const;
  [[nodiscard]] const std::vector<DestinationRule>& destination_rules() const noexcept { return destinations_; }
  /// One line per rule, for --check-config and the startup log.
  [[nodiscard]] std::vector<std::string> describe() const;

 private:
  const DestinationRule* match_destination(const common::IpAddress& a) const noexcept;

  std::vector<NameRule> names_;
  NameTable name_table_;                       // value: position in names_
  std::vector<DestinationRule> destinations_;  // sorted longest prefix first
  std::vector<common::Prefix> allowlist_;
  std::vector<common::IpAddress> providers_;
};

/// Whether an address is private/LAN in the paper's sense (see DestinationClass::Private).
bool is_private(const common::IpAddress& a) noexcept;
/// "nxdomain", "nodata", "refused", "drop".
std::string_view action_name(NameAction a) noexcept;
/// "upstreams", "pass", "refuse".
std::string_view route_name(Route r) noexcept;
/// "unknown", "provider", "allowlisted", "private", "public".
std::string_view class_name(DestinationClass c) noexcept;

}  // namespace dnsfence::policy
