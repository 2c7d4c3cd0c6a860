#pragma once
// Each subcommand registers itself on the root app and sets the exit code through `exit_code`.

#include <CLI/CLI.hpp>

namespace dnsfence::app {

/// `dnsfence decode`: parse DNS packets given in hex and show the gate's verdict and reply.
void add_decode_command(CLI::App& root, int& exit_code);
/// `dnsfence firewall render|apply|remove|status|allow`: dnsfence's nftables / iptables ruleset.
void add_firewall_command(CLI::App& root, int& exit_code);

}  // namespace dnsfence::app
