#pragma once
// Renders the ruleset model as iptables-restore / ip6tables-restore input, for servers that cannot
// run nft. dnsfence owns chains named DNSFENCE-*; the built-in chains only get one jump each.

#include <string>
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
/// DNSFENCE-* chain and fills it, in one atomic commit per table. Sets are expanded into one rule
/// per element. The jumps are not in it (see iptables_hooks).
std::string render_iptables(const Ruleset& rs, Family family);

/// The jumps apply inserts idempotently (`-C` then `-I`) and remove deletes.
std::vector<IptablesHook> iptables_hooks(const Ruleset& rs);

/// dnsfence's iptables name for a model chain: "DNSFENCE-" + upper-case name.
std::string iptables_chain(const std::string& name);

}  // namespace dnsfence::firewall
