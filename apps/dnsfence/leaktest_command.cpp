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
  return det::gather(r, det::Collaborators{&sources, routes.get(), capture.get(), witness.get()});
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
  return j;
}

volatile std::sig_atomic_t g_stop = 0;  // the only way a signal handler may talk to the loop

int watch_loop(const Options& o, const det::RunOptions& r, det::Report last) {
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  auto watcher = det::make_linux_watcher({o.resolv_conf, "/run/systemd/resolve/resolv.conf", "/var/lib/dhcp/x"});
  while (g_stop == 0) {
    const std::string what = watcher->wait(1000ms, 500ms);
    if (what.empty()) continue;
    const det::Facts f = gather_once(o, r);
    det::Report now = report_once(o, f);
    const std::string diff = det::report_diff(last, now);
    if (!diff.empty()) {
      if (o.json) {
        std::cout << json_report(now, f).dump() << "\n";
      } else {
        std::cout << "changed (" << what << "):\n" << diff;
      }
      std::cout << std::flush;
    }
    last = std::move(now);
  }
  return det::exit_code(last.overall);
}

int run(const Options& o) {
  const det::RunOptions r = run_options(o);
  const det::Facts f = gather_once(o, r);
  det::Report rep = report_once(o, f);
  std::cout << (o.json ? json_report(rep, f).dump(2) + "\n" : det::report_text(rep, f)) << std::flush;
  if (o.watch && o.replay.empty()) return watch_loop(o, r, std::move(rep));
  return det::exit_code(rep.overall);
}

}  // namespace

void add_leaktest_command(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = root.add_subcommand(
      "leaktest", "Find Type 1 and Type 2 DNS leaks and Stealth DNS servers (exit 0 OK, 1 leak, 2 inconclusive)");
  cmd->add_option("--tunnel", o->tunnel, "The VPN tunnel interface (default: detect from routes and types)");
  cmd->add_option("--resolver", o->resolvers, "Also probe this resolver as if it were configured");
  cmd->add_option("--trusted", o->trusted, "A resolver you chose deliberately: not a Type 2 leak");
  cmd->add_option("--vpn-resolver", o->vpn, "The VPN provider's resolver (added to those on the tunnel link)");
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
  cmd->add_flag("--watch", o->watch, "Re-run when routes, links or resolver configuration change; print changes");
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
