#pragma once
// What `firewall status` compares: the rule names per chain and the set elements the kernel holds
// (parsed from `nft -j list table`, or from iptables-save -c and ipset save), against the same
// listing derived from the configuration. No I/O: the kernel's text comes from apply.cpp, so the
// parsing and the drift rules are unit-tested on fixed listings.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "firewall/model.hpp"

namespace dnsfence::firewall {

struct RuleCounter {
  std::string chain;  // model name ("guard"), whatever the backend
  std::string name;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

struct Status {
  bool applied = false;
  std::vector<RuleCounter> counters;
  std::vector<std::string> drift;  // human-readable differences, empty when in sync
  std::vector<std::string> notes;  // what was not checked, and why (a disabled address family)
};

/// One side of the comparison. Chain keys are model names; iptables' IPv6 chains get the suffix
/// " (ip6tables)". Set elements are in nft_element() form ("198.51.100.53", "10.0.0.0/8").
struct Listing {
  std::map<std::string, std::vector<std::string>> chains;  // chain -> rule names in order
  std::map<std::string, std::vector<std::string>> sets;    // set -> elements in any order
  std::vector<RuleCounter> counters;
};

/// Parses `nft -j list table inet dnsfence` output. Throws nlohmann::json::exception (a
/// std::exception) on bad JSON or a listing of another shape.
Listing parse_nft_listing(std::string_view json_text);

/// The listing the nft backend should show for `rs`.
Listing expected_nft(const Ruleset& rs);

/// Adds the DNSFENCE-* chains of `iptables-save -c` (or of render_iptables) output for `family`
/// to `out`; lines it does not understand are ignored.
void parse_iptables_save(std::string_view text, Family family, Listing& out);

/// Adds the dnsfence-* sets of `ipset save` output to `out` under their model names.
void parse_ipset_save(std::string_view text, Listing& out);

/// The listing the iptables backend should show for `rs`.
Listing expected_iptables(const Ruleset& rs);

/// Fills st.drift with every difference: missing or extra chains, rules that differ in name or
/// order, missing sets, set elements that differ (compared in any order).
void compare(const Listing& expected, const Listing& actual, Status& st);

}  // namespace dnsfence::firewall
