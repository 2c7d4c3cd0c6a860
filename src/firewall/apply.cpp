#include "firewall/apply.hpp"

#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "firewall/iptables_render.hpp"
#include "firewall/nft_render.hpp"

namespace dnsfence::firewall {
namespace {

using nlohmann::json;

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

int run_quiet(const std::vector<std::string>& argv) {
  std::vector<std::string> cmd{"sh", "-c", "exec \"$@\" 2>/dev/null", "sh"};
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  return run_program(cmd);
}

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

// fwmark -> table with `local default dev lo`, so marked (tproxied) packets are delivered locally.
void apply_policy_route(const PolicyRoute& r) {
  for (const char* fam : {"-4", "-6"}) {
    while (run_quiet({"ip", fam, "rule", "del", "fwmark", hex(r.mark), "lookup", std::to_string(r.table)}) == 0) {
    }
    if (run_program({"ip", fam, "rule", "add", "fwmark", hex(r.mark), "lookup", std::to_string(r.table)}) != 0)
      throw std::runtime_error(std::string("ip ") + fam + " rule add fwmark failed");
    const char* dst = fam[1] == '4' ? "0.0.0.0/0" : "::/0";
    if (run_program({"ip", fam, "route", "replace", "local", dst, "dev", "lo", "table", std::to_string(r.table)}) != 0)
      throw std::runtime_error(std::string("ip ") + fam + " route replace local failed");
  }
}

void remove_policy_route(const PolicyRoute& r) {
  for (const char* fam : {"-4", "-6"}) {
    while (run_quiet({"ip", fam, "rule", "del", "fwmark", hex(r.mark), "lookup", std::to_string(r.table)}) == 0) {
    }
    const char* dst = fam[1] == '4' ? "0.0.0.0/0" : "::/0";
    run_quiet({"ip", fam, "route", "del", "local", dst, "dev", "lo", "table", std::to_string(r.table)});
  }
}

constexpr const char* kAllChains[] = {"forward", "guard", "prerouting", "redirect_dns", "tproxy_dns", "output"};

void remove_iptables() {
  for (const char* tool : {"iptables", "ip6tables"})
    for (const char* table : {"filter", "nat", "mangle"}) {
      for (const char* builtin : {"PREROUTING", "FORWARD", "OUTPUT"})
        for (const char* c : kAllChains)
          while (run_quiet({tool, "-w", "-t", table, "-D", builtin, "-j", iptables_chain(c)}) == 0) {
          }
      for (const char* c : kAllChains) run_quiet({tool, "-w", "-t", table, "-F", iptables_chain(c)});
      for (const char* c : kAllChains) run_quiet({tool, "-w", "-t", table, "-X", iptables_chain(c)});
    }
}

void apply_iptables(const Ruleset& rs) {
  const std::pair<const char*, Family> tools[] = {{"iptables", Family::V4}, {"ip6tables", Family::V6}};
  for (const auto& [tool, family] : tools) {
    const std::string restore = std::string(tool) + "-restore";
    if (run_program({restore, "-w", "--noflush"}, render_iptables(rs, family)) != 0)
      throw std::runtime_error(restore + ": failed (see its message above)");
    for (const auto& h : iptables_hooks(rs)) {
      if (run_quiet({tool, "-w", "-t", h.table, "-C", h.builtin, "-j", h.chain}) == 0) continue;
      if (run_program({tool, "-w", "-t", h.table, "-I", h.builtin, "1", "-j", h.chain}) != 0)
        throw std::runtime_error(std::string(tool) + ": cannot insert the jump to " + h.chain);
    }
  }
}

std::string element_text(const json& e) {
  if (e.is_string()) return e.get<std::string>();
  if (e.contains("prefix"))
    return e["prefix"]["addr"].get<std::string>() + "/" + std::to_string(e["prefix"]["len"].get<int>());
  if (e.contains("range")) return e["range"][0].get<std::string>() + "-" + e["range"][1].get<std::string>();
  if (e.contains("elem")) return element_text(e["elem"]["val"]);
  return e.dump();
}

json list_table() {
  Nft nft(true);
  try {
    return json::parse(nft.run(std::string("list table inet ") + kTableName));
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find("No such file") != std::string::npos) return nullptr;
    throw;
  }
}

void compare(const Ruleset& expected, const json& listing, Status& st) {
  std::map<std::string, std::vector<std::string>> chains;
  std::map<std::string, std::vector<std::string>> sets;
  for (const auto& item : listing["nftables"]) {
    if (item.contains("chain")) chains[item["chain"]["name"]];
    if (item.contains("set")) {
      auto& elems = sets[item["set"]["name"]];
      for (const auto& e : item["set"].value("elem", json::array())) elems.push_back(element_text(e));
    }
    if (!item.contains("rule")) continue;
    const auto& r = item["rule"];
    RuleCounter c{r["chain"], r.value("comment", ""), 0, 0};
    for (const auto& x : r["expr"])
      if (x.contains("counter")) c.packets = x["counter"]["packets"], c.bytes = x["counter"]["bytes"];
    chains[c.chain].push_back(c.name);
    st.counters.push_back(c);
  }
  for (const auto& c : expected.chains) {
    std::vector<std::string> names;
    names.reserve(c.rules.size());
    for (const auto& r : c.rules) names.push_back(r.name);
    if (!chains.contains(c.name))
      st.drift.push_back("chain " + c.name + " is missing");
    else if (chains[c.name] != names)
      st.drift.push_back("chain " + c.name + ": rules differ from the configuration");
    chains.erase(c.name);
  }
  for (const auto& [name, rules] : chains) st.drift.push_back("chain " + name + " is not in the configuration");
  for (const auto& s : expected.sets) {
    std::vector<std::string> want;
    want.reserve(s.elements.size());
    for (const auto& p : s.elements) want.push_back(nft_element(p));
    const auto have = sets.find(s.name);
    if (have == sets.end()) {
      st.drift.push_back("set " + s.name + " is missing");
      continue;
    }
    // The kernel lists an interval set's elements in ascending order, not in the file's order.
    std::ranges::sort(want);
    std::ranges::sort(have->second);
    if (have->second != want) st.drift.push_back("set " + s.name + ": elements differ from the configuration");
  }
}

}  // namespace

Nft::Nft(bool json_output) : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (ctx_ == nullptr) throw std::runtime_error("libnftables: cannot create a context");
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
  if (json_output) nft_ctx_output_set_flags(ctx_, NFT_CTX_OUTPUT_JSON);
}

Nft::~Nft() {
  nft_ctx_free(ctx_);
}

std::string Nft::run(const std::string& script) {
  if (nft_run_cmd_from_buffer(ctx_, script.c_str()) != 0) {
    std::string err = nft_ctx_get_error_buffer(ctx_);
    while (!err.empty() && err.back() == '\n') err.pop_back();
    throw std::runtime_error("libnftables: " + err);
  }
  return nft_ctx_get_output_buffer(ctx_);
}

void apply_ruleset(const Ruleset& rs, common::FirewallBackend backend) {
  if (backend == common::FirewallBackend::Nft) {
    Nft nft;
    nft.run(render_nft_apply(rs));
  } else {
    apply_iptables(rs);
  }
  if (rs.policy_route) apply_policy_route(*rs.policy_route);
}

void remove_ruleset(common::FirewallBackend backend, const PolicyRoute& route) {
  if (backend == common::FirewallBackend::Nft) {
    Nft nft;
    nft.run(render_nft_remove());
  } else {
    remove_iptables();
  }
  remove_policy_route(route);
}

Status read_status(const Ruleset& expected) {
  Status st;
  const json listing = list_table();
  if (listing.is_null()) {
    st.drift.push_back("table inet dnsfence is not applied");
    return st;
  }
  st.applied = true;
  compare(expected, listing, st);
  return st;
}

void change_allowlist(const common::Prefix& p, bool add) {
  const std::string set = p.network().is_v4() ? "allow_v4" : "allow_v6";
  Nft nft;
  nft.run(std::string(add ? "add" : "delete") + " element inet " + kTableName + " " + set + " { " + nft_element(p) +
          " }");
}

std::vector<std::string> list_allowlist() {
  std::vector<std::string> out;
  for (const char* set : {"allow_v4", "allow_v6"}) {
    Nft nft(true);
    const json j = json::parse(nft.run(std::string("list set inet ") + kTableName + " " + set));
    for (const auto& item : j["nftables"])
      if (item.contains("set"))
        for (const auto& e : item["set"].value("elem", json::array())) out.push_back(element_text(e));
  }
  return out;
}

int run_program(const std::vector<std::string>& argv, const std::string& stdin_text) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return 127;
  const pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    ::dup2(fds[0], 0);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[0]);
  write_all(fds[1], stdin_text);
  ::close(fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace dnsfence::firewall
