#pragma once
// What an iptables-backend apply needs to undo itself, with no I/O (unit-tested on fixed text):
// dnsfence's chains and jumps as `iptables-save` listed them before the apply, and the
// `iptables-restore --noflush` inputs that put them back or clear a previous mode's chains.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "firewall/model.hpp"

namespace dnsfence::firewall {

/// A rule in a built-in chain that jumps to one of dnsfence's chains.
struct Jump {
  std::string builtin;  ///< "PREROUTING"
  int position = 0;     ///< 1-based, among that built-in chain's rules
  std::string spec;     ///< what follows "-A PREROUTING ": "-j DNSFENCE-PREROUTING"
  std::string chain;    ///< its target: "DNSFENCE-PREROUTING"
};

/// dnsfence's part of one family's `iptables-save` output, per table ("filter", "nat", "mangle").
struct ChainSnapshot {
  std::map<std::string, std::vector<std::string>> chains;  ///< DNSFENCE-* chain names
  std::map<std::string, std::vector<std::string>> rules;   ///< their "-A DNSFENCE-..." lines, in order
  std::map<std::string, std::vector<Jump>> jumps;          ///< jumps to them from built-in chains
  /// Every table listed, and whether it is empty: no rule at all, every chain's policy ACCEPT
  /// (what iptables-nft leaves behind when a restore created a table and a rollback emptied it).
  std::map<std::string, bool> tables;
};

/// Reads the DNSFENCE-* chains, their rules and the jumps to them from `iptables-save` output.
ChainSnapshot snapshot_chains(std::string_view save);

/// Restore input that returns dnsfence's chains from `now` to `before`: the chains `before` had get
/// their old rules back, those only `now` has are deleted; "" when there is nothing to do (a table
/// neither side uses is not even named, so a rollback does not create it).
std::string render_chain_restore(const ChainSnapshot& before, const ChainSnapshot& now);

/// The tables `now` lists empty that `before` did not list at all: created by the apply and emptied
/// by its rollback, to be deleted so that nothing is left behind.
std::vector<std::string> emptied_new_tables(const ChainSnapshot& before, const ChainSnapshot& now);

/// Restore input deleting the chains `before` has and `rs` has not (a previous mode's: redirect's
/// nat chains when switching to tproxy), with their jumps; "" when there are none.
std::string render_stale_removal(const ChainSnapshot& before, const Ruleset& rs);

/// The undo of render_stale_removal, given what the kernel holds `now`: those of the chains that
/// are gone come back with their rules, and their jumps at their old positions; "" when none is gone.
std::string render_stale_restore(const ChainSnapshot& before, const Ruleset& rs, const ChainSnapshot& now);

}  // namespace dnsfence::firewall
