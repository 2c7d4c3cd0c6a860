#pragma once
// Each subcommand registers itself on the root app and sets the exit code through `exit_code`.

#include <CLI/CLI.hpp>

namespace dnsfence::app {

/// `dnsfence decode`: parse DNS packets given in hex and show the gate's verdict and reply.
void add_decode_command(CLI::App& root, int& exit_code);
/// `dnsfence serve`: the transparent DNS proxy (runs until SIGTERM; SIGHUP reloads).
void add_serve_command(CLI::App& root, int& exit_code);

/// `dnsfence witness serve|results|new-run`: the leak-test authority and its API client.
void add_witness_command(CLI::App& root, int& exit_code);

/// `dnsfence leaktest`: inventory, routes, capture and probes -> verdicts per resolver with
/// evidence; exit 0 OK or INTERCEPTED, 1 leak, 2 inconclusive, 4 unprotected (3, usage, is main's).
void add_leaktest_command(CLI::App& root, int& exit_code);

/// `dnsfence firewall render|apply|remove|status|allow`: dnsfence's nftables / iptables ruleset.
void add_firewall_command(CLI::App& root, int& exit_code);

}  // namespace dnsfence::app
