// `dnsfence leaktest`: find Type 1 and Type 2 DNS leaks and Stealth DNS servers on this client.
// Wiring only: options -> gather() -> classify() -> reports.

#include <csignal>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "detector/classify.hpp"
#include "detector/facts_json.hpp"
#include "detector/gather.hpp"
#include "detector/report.hpp"
#include "detector/watch.hpp"

namespace dnsfence::app {
namespace {

using namespace std::chrono_literals;
namespace det = dnsfence::detector;

// Well-known public resolvers for the interception check in real use; tests pass --public with
// documentation addresses instead.
const std::vector<std::string> kDefaultPublic = {"1.1.1.1", "8.8.8.8", "9.9.9.9"};

struct Options {
  std::string tunnel;
  std::vector<std::string> resolvers, trusted, vpn, publics;
  bool no_public = false;
  std::string witness, zone = "leaktest.dnsfence.example", resolv_conf = "/etc/resolv.conf", device = "any";
  std::string pcap, html, record, replay;
  bool json = false, watch = false;
  int system_ms = 3000, direct_ms = 1500;
  int watch_runs = 0, watch_timeout_s = 0;
};

std::vector<det::IpAddress> addresses(const std::vector<std::string>& texts, const char* option) {
  std::vector<det::IpAddress> out;
  for (const auto& t : texts) {
    auto a = det::IpAddress::parse(t);
    if (!a) throw CLI::ValidationError(option, t + ": " + a.error());
    out.push_back(*a);
  }
  return out;
}

det::RunOptions run_options(const Options& o) {
  det::RunOptions r;
  r.tunnel = o.tunnel;
  r.extra = addresses(o.resolvers, "--resolver");
  r.trusted = addresses(o.trusted, "--trusted");
  r.vpn_resolvers = addresses(o.vpn, "--vpn-resolver");
  if (!o.no_public) r.public_resolvers = addresses(o.publics.empty() ? kDefaultPublic : o.publics, "--public");
  r.zone = o.zone;
  r.system_timeout = std::chrono::milliseconds(o.system_ms);
  r.direct_timeout = std::chrono::milliseconds(o.direct_ms);
  return r;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

det::Facts gather_once(const Options& o, const det::RunOptions& r) {
  if (!o.replay.empty()) {
    std::ifstream in(o.replay);
    if (!in) throw CLI::ValidationError("--facts", "cannot read " + o.replay);
    return det::facts_from_json(nlohmann::json::parse(in));
  }
  const auto sources = det::linux_sources(o.resolv_conf);
  const auto routes = det::make_netlink_route_oracle();
  const auto capture = det::make_pcap_source(o.device, o.pcap, 10000);
  std::unique_ptr<det::WitnessClient> witness;
  if (!o.witness.empty()) witness = det::make_http_witness(o.witness, 2000ms);
  return det::gather(r, det::Collaborators{&sources, routes.get(), capture.get(), witness.get(), nullptr});
}

det::Report report_once(const Options& o, const det::Facts& f) {
  const det::Report rep = det::classify(f);
  if (!o.record.empty()) write_file(o.record, det::facts_to_json(f).dump(1) + "\n");
  if (!o.html.empty()) write_file(o.html, det::report_html(rep, f));
  return rep;
}

// The report plus what it was about: the tunnel and every resolver with its origin.
nlohmann::json json_report(const det::Report& r, const det::Facts& f) {
  nlohmann::json j = det::report_to_json(r);
  j["inventory"] = det::facts_to_json(f)["inventory"];
  // What a reporting VPN server saw of the probes (issue 16), when the witness has any.
  if (f.witness && !f.witness->reports.empty()) {
    j["witness_reports"] = nlohmann::json::array();
    for (const auto& rep : f.witness->reports) j["witness_reports"].push_back(det::witness_report_json(rep));
  }
  return j;
}

volatile std::sig_atomic_t g_stop = 0;  // the only way a signal handler may talk to the loop

// One re-run's output: only what changed. Text: a header naming the trigger, then the diff.
// JSON: one line per re-run (JSON Lines, as the first report under --watch).
void print_rerun(const Options& o, const det::Rerun& r) {
  if (o.json) {
    nlohmann::json j = det::report_diff_json(*r.before, *r.after);
    j["rerun"] = r.number;
    j["trigger"] = r.trigger;
    std::cout << j.dump() << "\n";
  } else {
    const std::string diff = det::report_diff(*r.before, *r.after);
    std::cout << "--- re-run " << r.number << " after a change of " << r.trigger << "\n"
              << (diff.empty() ? "no verdict changed\n" : diff);
  }
  std::cout << std::flush;
}

int run(const Options& o) {
  const det::RunOptions r = run_options(o);
  const bool watching = o.watch && o.replay.empty();
  // Subscribed before the first run: a change made while it runs, or right after it printed, is
  // never missed.
  std::unique_ptr<det::ChangeWatcher> watcher;
  if (watching) watcher = det::make_linux_watcher(det::resolver_configuration_paths(o.resolv_conf));
  const det::Facts f = gather_once(o, r);
  det::Report rep = report_once(o, f);
  if (o.json) {
    std::cout << (watching ? json_report(rep, f).dump() : json_report(rep, f).dump(2)) << "\n";
  } else {
    std::cout << det::report_text(rep, f);
  }
  std::cout << std::flush;
  if (!watching) return det::exit_code(rep.overall);
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  det::WatchLimits limits;
  limits.runs = o.watch_runs;
  limits.timeout = std::chrono::seconds(o.watch_timeout_s);
  const det::Report last = det::watch(
      *watcher, std::move(rep), [&] { return report_once(o, gather_once(o, r)); },
      [&](const det::Rerun& x) { print_rerun(o, x); }, limits, [] { return g_stop != 0; });
  return det::exit_code(last.overall);
}

}  // namespace

void add_leaktest_command(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = root.add_subcommand(
      "leaktest",
      "Find Type 1 and Type 2 DNS leaks and Stealth DNS servers (exit 0 OK, 1 leak, 2 inconclusive, 4 the VPN "
      "lets DNS to other resolvers through)");
  cmd->add_option("--tunnel", o->tunnel, "The VPN tunnel interface (default: detect from routes and types)");
  cmd->add_option("--resolver", o->resolvers, "Also probe this resolver as if it were configured");
  cmd->add_option("--trusted", o->trusted, "A resolver you chose deliberately: not a Type 2 leak");
  cmd->add_option("--vpn-resolver", o->vpn,
                  "The VPN provider's resolver, added to those on the tunnel link. It is probed like a configured "
                  "one, even if this system does not use it: with --witness, the addresses it asks the authority "
                  "from are the VPN's egress, which tells a query the VPN intercepted from a leak");
  cmd->add_option("--public", o->publics,
                  "Third-party resolver for the interception check (default 1.1.1.1 8.8.8.8 9.9.9.9)");
  cmd->add_flag("--no-public", o->no_public, "Skip the interception check");
  cmd->add_option("--witness", o->witness, "Leak-test authority API, e.g. http://198.51.100.5:8053");
  cmd->add_option("--zone", o->zone, "Probe zone when there is no witness")->capture_default_str();
  cmd->add_option("--resolv-conf", o->resolv_conf, "resolv.conf to read")->capture_default_str();
  cmd->add_option("--capture-device", o->device, "libpcap device")->capture_default_str();
  cmd->add_option("--pcap", o->pcap, "Write the captured DNS packets (the evidence) to this pcap file");
  cmd->add_option("--html", o->html, "Write a self-contained HTML report with sequence diagrams");
  cmd->add_option("--record", o->record, "Save the gathered facts as JSON (a classifier fixture)");
  cmd->add_option("--facts", o->replay, "Classify facts saved by --record instead of testing this machine")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  auto* watch = cmd->add_flag("--watch", o->watch,
                              "Re-run when routes, links, addresses or resolver configuration change; print only "
                              "what changed");
  cmd->add_option("--watch-runs", o->watch_runs, "With --watch: stop after this many re-runs (0: never)")
      ->check(CLI::Range(0, 1000000))
      ->needs(watch);
  cmd->add_option("--watch-timeout", o->watch_timeout_s, "With --watch: stop after this many seconds (0: never)")
      ->check(CLI::Range(0, 31536000))
      ->needs(watch);
  cmd->add_option("--system-timeout", o->system_ms, "Bound on getaddrinfo, ms")
      ->check(CLI::Range(100, 30000))
      ->capture_default_str();
  cmd->add_option("--timeout", o->direct_ms, "Bound on each direct query, ms")
      ->check(CLI::Range(100, 30000))
      ->capture_default_str();
  cmd->callback([o, &exit_code] {
    try {
      exit_code = run(*o);
    } catch (const CLI::Error&) {
      throw;  // usage errors: main maps them to exit 3
    } catch (const std::exception& e) {
      // A failure is never "no leak", and never "leak" either: inconclusive.
      std::cerr << "dnsfence leaktest: " << e.what() << "\n";
      exit_code = 2;
    }
  });
}

}  // namespace dnsfence::app
