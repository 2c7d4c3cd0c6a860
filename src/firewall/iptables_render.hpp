#pragma once
// Renders the ruleset model as iptables-restore / ip6tables-restore input, for servers that cannot
// run nft. dnsfence owns chains named DNSFENCE-* and ipsets named dnsfence-*; the built-in chains
// only get one jump each.

#include <string>
#include <string_view>
#include <vector>

#include "firewall/model.hpp"

namespace dnsfence::firewall {

/// A jump from a built-in chain to one of dnsfence's chains: `-t table -I builtin -j chain`.
struct IptablesHook {
  std::string table;    // "filter", "nat", "mangle"
  std::string builtin;  // "FORWARD", "PREROUTING", "OUTPUT"
  std::string chain;    // "DNSFENCE-FORWARD"
};

/// `iptables-restore --noflush` input for one family (V4 or V6): declares (and so flushes) every
/// DNSFENCE-* chain and fills it, in one atomic commit per table. A set match is one rule with
/// `-m set --match-set dnsfence-NAME src|dst` (the ipsets come first: see render_ipset). The jumps
/// are not in it (see iptables_hooks).
std::string render_iptables(const Ruleset& rs, Family family);

/// The jumps apply inserts idempotently (`-C` then `-I`) and remove deletes.
std::vector<IptablesHook> iptables_hooks(const Ruleset& rs);

/// dnsfence's iptables name for a model chain: "DNSFENCE-" + upper-case name.
std::string iptables_chain(const std::string& name);

/// dnsfence's ipset name for a model set: "allow_net_v4" -> "dnsfence-allow-net-v4".
std::string ipset_name(const std::string& set);
/// The model name of a dnsfence ipset ("dnsfence-allow-v4" -> "allow_v4"), "" for other sets.
std::string ipset_model_name(std::string_view ipset);

/// `ipset restore` input creating `as` (hash:net for interval sets, hash:ip otherwise, sized for
/// the elements with room to `allow add`) and adding every element.
std::string render_ipset(const AddressSet& s, const std::string& as);

/// render_ipset for every set of `rs` under its ipset_name: what `render` prints.
std::string render_ipsets(const Ruleset& rs);

}  // namespace dnsfence::firewall
