// dnsfence: one binary, one subcommand per component. Only wiring lives here.

#include <CLI/CLI.hpp>

#include <csignal>
#include <exception>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "dnsfence/version.hpp"
#include "docgen.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"dnsfence: end DNS leaks for VPN users (Type 1, Type 2 and Stealth DNS servers)", "dnsfence"};
  const std::string version = std::string("dnsfence ") + dnsfence::kVersion + " (git " + dnsfence::kGitRevision + ")";
  app.set_version_flag("-V,--version", version);
  app.require_subcommand(1);
  int exit_code = 0;
  dnsfence::app::add_decode_command(app, exit_code);
  dnsfence::app::add_serve_command(app, exit_code);
  dnsfence::app::add_leaktest_command(app, exit_code);
  dnsfence::app::add_firewall_command(app, exit_code);
  dnsfence::app::add_generate_command(app, version);
  dnsfence::app::add_witness_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's usage errors exit 2 by default; dnsfence reserves 3 for usage errors (leaktest: 0-2).
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 3;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that goes away (a client, a helper program such as iptables-restore that failed to
  // start) is an EPIPE error to report, never a silent death of the whole command.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "dnsfence: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "dnsfence: unexpected error\n";
  }
  return 1;
}
