// `dnsfence firewall render|apply|remove|status|allow`: the paper's nftables remedies as one table.

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "common/config.hpp"
#include "firewall/apply.hpp"
#include "firewall/iptables_render.hpp"
#include "firewall/model.hpp"
#include "firewall/nft_render.hpp"

namespace dnsfence::app {
namespace {

using firewall::Family;

struct Options {
  std::string config = common::kDefaultConfigPath;
  std::string backend;  // render: override the configured backend
  bool json = false;
  std::string address;
};

common::Config load(const Options& o) {
  return common::load_config(o.config);
}

int render(const Options& o) {
  const auto config = load(o);
  const auto rs = firewall::build_ruleset(config);
  const bool ipt =
      o.backend.empty() ? config.firewall.backend == common::FirewallBackend::Iptables : o.backend == "iptables";
  if (!ipt) {
    std::cout << firewall::render_nft_table(rs);
    return 0;
  }
  std::cout << firewall::render_ipsets(rs) << firewall::render_iptables(rs, Family::V4)
            << firewall::render_iptables(rs, Family::V6);
  for (const auto& h : firewall::iptables_hooks(rs))
    std::cout << "# jump: -t " << h.table << " -I " << h.builtin << " -j " << h.chain << "\n";
  return 0;
}

int apply(const Options& o) {
  const auto config = load(o);
  const auto report = firewall::apply_ruleset(firewall::build_ruleset(config), config.firewall.backend);
  for (const auto& n : report.notes) std::cerr << "dnsfence: note: " << n << "\n";
  return 0;
}

int remove(const Options& o) {
  const auto config = load(o);
  firewall::remove_ruleset(config.firewall.backend, {config.firewall.tproxy_mark, config.firewall.tproxy_table});
  return 0;
}

// Exit status: 0 applied and in sync, 1 not applied, 2 drift.
int status(const Options& o) {
  const auto config = load(o);
  const auto st = firewall::read_status(firewall::build_ruleset(config), config.firewall.backend);
  if (o.json) {
    nlohmann::json j{
        {"applied", st.applied}, {"drift", st.drift}, {"notes", st.notes}, {"rules", nlohmann::json::array()}};
    for (const auto& c : st.counters)
      j["rules"].push_back({{"chain", c.chain}, {"name", c.name}, {"packets", c.packets}, {"bytes", c.bytes}});
    std::cout << j.dump(2) << "\n";
  } else {
    const bool nft = config.firewall.backend == common::FirewallBackend::Nft;
    std::cout << (nft ? "table inet dnsfence: " : "DNSFENCE-* chains and dnsfence-* ipsets: ")
              << (st.applied ? "applied" : "not applied") << "\n";
    for (const auto& c : st.counters)
      if (!c.name.empty()) std::cout << "  " << c.chain << "/" << c.name << ": " << c.packets << " packets\n";
    for (const auto& d : st.drift) std::cout << "drift: " << d << "\n";
    for (const auto& n : st.notes) std::cout << "note: " << n << "\n";
    if (st.applied && st.drift.empty()) std::cout << "in sync with " << config.source << "\n";
  }
  return !st.applied ? 1 : st.drift.empty() ? 0 : 2;
}

int allow(const Options& o, const std::string& action) {
  const auto config = load(o);  // also validates the file, though only the kernel's sets change
  const auto backend = config.firewall.backend;
  if (action == "list") {
    for (const auto& e : firewall::list_allowlist(backend)) std::cout << e << "\n";
    return 0;
  }
  auto p = common::Prefix::parse(o.address);
  if (!p) throw std::runtime_error("firewall allow: " + p.error());
  firewall::change_allowlist(*p, action == "add", backend);
  return 0;
}

// `--config` is accepted at every level an operator may write it: `firewall --config F status`,
// `firewall status --config F`, `firewall allow --config F add A`, `firewall allow add A --config F`.
// Each level's option writes the same string; the last one given wins.
void config_option(CLI::App& app, Options& o) {
  app.add_option("-c,--config", o.config, "configuration file (shared with serve)")->capture_default_str();
}

CLI::App* sub(CLI::App& parent, const char* name, const char* help, Options& o) {
  auto* s = parent.add_subcommand(name, help);
  config_option(*s, o);
  return s;
}

}  // namespace

void add_firewall_command(CLI::App& root, int& exit_code) {
  auto* fw = root.add_subcommand("firewall", "nftables/iptables rules that stop VPN clients' DNS leaks");
  fw->require_subcommand(1);
  auto o = std::make_shared<Options>();
  config_option(*fw, *o);
  auto* r = sub(*fw, "render", "print the exact ruleset without touching the kernel", *o);
  r->add_option("--backend", o->backend, "override the configured backend")->check(CLI::IsMember({"nft", "iptables"}));
  r->callback([o, &exit_code] { exit_code = render(*o); });
  // OpenVPN's up/down append device, MTU and addresses to the command: apply and remove ignore them.
  auto* ap = sub(*fw, "apply", "replace the ruleset atomically (idempotent)", *o);
  ap->allow_extras()->callback([o, &exit_code] { exit_code = apply(*o); });
  auto* rm = sub(*fw, "remove", "delete exactly dnsfence's table and policy routing", *o);
  rm->allow_extras()->callback([o, &exit_code] { exit_code = remove(*o); });
  auto* s = sub(*fw, "status", "applied ruleset, counters, drift (exit 0 in sync, 1 absent, 2 drift)", *o);
  s->add_flag("--json", o->json, "machine-readable output");
  s->callback([o, &exit_code] { exit_code = status(*o); });
  auto* al = fw->add_subcommand(
      "allow", "change the allowlist sets (nft) or ipsets (iptables) in place (not persisted: edit [allowlist])");
  al->require_subcommand(1);
  config_option(*al, *o);
  for (const char* action : {"add", "del"}) {
    auto* a = sub(*al, action, action == std::string("add") ? "add ADDR[/LEN]" : "delete ADDR[/LEN]", *o);
    a->add_option("address", o->address, "address or prefix")->required();
    a->callback([o, action, &exit_code] { exit_code = allow(*o, action); });
  }
  sub(*al, "list", "list the allowlist elements in the kernel", *o)->callback([o, &exit_code] {
    exit_code = allow(*o, "list");
  });
}

}  // namespace dnsfence::app
