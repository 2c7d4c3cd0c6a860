#pragma once
// tproxy's policy routing: `ip rule fwmark MARK lookup TABLE` and `local default dev lo table TABLE`
// per address family, so marked packets are delivered to the local transparent listener. Applied
// step by step into an Undo log; checked by `status`; skipped for a family the host has disabled.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "firewall/model.hpp"
#include "firewall/undo.hpp"

namespace dnsfence::firewall {

/// Whether IPv6 can carry policy routing in this network namespace, and if not, why.
struct Families {
  bool v6 = true;
  std::string v6_off;  ///< why not: "IPv6 is disabled (net.ipv6.conf.lo.disable_ipv6 = 1)"
};

/// Reads `proc_sys_net`/ipv6 (the namespace's sysctls): IPv6 is off when the kernel has none or
/// when it is disabled on `lo`, the device of tproxy's local route (`all.disable_ipv6 = 1` disables
/// it there too). IPv4 cannot be disabled.
Families detect_families(const std::filesystem::path& proc_sys_net = "/proc/sys/net");

/// What the kernel holds for `r` in one family, from `ip -j rule list` and `ip -j route show table
/// TABLE` output.
struct RoutingState {
  bool rule = false;                   ///< fwmark MARK lookup TABLE, for every packet
  bool route = false;                  ///< local default dev lo in TABLE
  std::vector<std::string> conflicts;  ///< other rules for MARK, other routes in TABLE
};

/// Parses the two listings. Throws nlohmann::json::exception (a std::exception) on bad JSON.
RoutingState parse_routing(const PolicyRoute& r, std::string_view rules_json, std::string_view routes_json);

/// The drift lines `status` reports for one family ("policy routing (IPv6): no rule ...").
std::vector<std::string> routing_drift(const PolicyRoute& r, Family f, const RoutingState& st);

/// Adds what is missing of the rule and route of every family in `families` (a rule or route
/// already there is left alone), recording each addition in `undo`. Refuses (throws, having added
/// nothing for that family) when the mark is routed elsewhere or the table holds other routes.
void apply_policy_route(const PolicyRoute& r, const Families& families, Undo& undo);

/// Deletes the rules and routes of `r` in both families; ignores what is absent.
void remove_policy_route(const PolicyRoute& r);

/// The drift lines for every family in `families`.
std::vector<std::string> read_routing_drift(const PolicyRoute& r, const Families& families);

}  // namespace dnsfence::firewall
