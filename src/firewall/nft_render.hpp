#pragma once
// Renders the ruleset model as nft script text.

#include <string>

#include "firewall/model.hpp"

namespace dnsfence::firewall {

/// `table inet dnsfence { ... }`: the exact table `status` compares with and `render` prints.
std::string render_nft_table(const Ruleset& rs);

/// The atomic, idempotent apply script: `add table` + `delete table` + the full table, for one
/// nft_run_cmd_from_buffer transaction (the kernel sees either the old table or the new one).
std::string render_nft_apply(const Ruleset& rs);

/// The idempotent removal script: deletes exactly table inet dnsfence, present or not.
std::string render_nft_remove();

/// One set element in nft syntax: "198.51.100.53" or "10.8.0.0/24".
std::string nft_element(const common::Prefix& p);

}  // namespace dnsfence::firewall
