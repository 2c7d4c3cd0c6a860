#pragma once
// The iptables backend in the kernel: dnsfence-* ipsets, DNSFENCE-* chains and one jump per
// built-in chain. apply records, step by step, how to put back what was there before (the ipsets'
// old contents, the chains' old rules, the jumps it inserted), so a failure leaves nothing behind.

#include <string>
#include <vector>

#include "firewall/model.hpp"
#include "firewall/status.hpp"
#include "firewall/undo.hpp"

namespace dnsfence::firewall {

/// Applies `rs` (ipsets swapped in whole, chains one commit per table and family, missing jumps
/// inserted), recording every step in `undo`; `on_commit` gets the clean-ups to run once the whole
/// apply has succeeded (destroying the ipsets' old contents). Throws std::runtime_error.
void apply_iptables(const Ruleset& rs, Undo& undo, std::vector<std::vector<std::string>>& on_commit);

/// Deletes the jumps, DNSFENCE-* chains and dnsfence-* ipsets; ignores what is absent.
void remove_iptables();

/// Compares the kernel's DNSFENCE-* chains and dnsfence-* ipsets with `expected`.
Status read_iptables_status(const Ruleset& expected);

/// `ipset add|del` of one allowlist element in place.
void change_ipset_allowlist(const common::Prefix& p, bool add);

/// The elements of the allowlist ipsets, by model set name.
Listing list_ipset_allowlist();

}  // namespace dnsfence::firewall
