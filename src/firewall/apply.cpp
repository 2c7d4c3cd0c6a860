#include "firewall/apply.hpp"

#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "firewall/iptables_render.hpp"
#include "firewall/nft_render.hpp"

namespace dnsfence::firewall {
namespace {

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

int run_quiet(const std::vector<std::string>& argv) {
  std::vector<std::string> cmd{"sh", "-c", "exec \"$@\" >/dev/null 2>&1", "sh"};
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

// The nft JSON listing of the table, "" when it is not applied.
std::string list_table() {
  Nft nft(true);
  try {
    return nft.run(std::string("list table inet ") + kTableName);
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find("No such file") != std::string::npos) return "";
    throw;
  }
}

bool ipset_exists(const std::string& name) {
  return run_quiet({"ipset", "-n", "list", name}) == 0;
}

// Each set is filled under a temporary name, then swapped with the live one in one step (or
// renamed to it the first time): a lookup never sees a half-filled set.
void apply_ipsets(const Ruleset& rs) {
  std::string script;
  for (const auto& s : rs.sets) {
    const std::string live = ipset_name(s.name);
    const std::string fresh = live + "-new";
    if (ipset_exists(fresh)) run_quiet({"ipset", "destroy", fresh});
    script += render_ipset(s, fresh);
    if (ipset_exists(live))
      script.append("swap ").append(fresh).append(" ").append(live).append("\ndestroy ").append(fresh).append("\n");
    else
      script.append("rename ").append(fresh).append(" ").append(live).append("\n");
  }
  if (run_program({"ipset", "restore"}, script) != 0)
    throw std::runtime_error("ipset restore: failed (see its message above)");
}

// Every dnsfence-* ipset (after the chains referring to them are gone).
void remove_ipsets() {
  int status = 0;
  const std::string names = capture_program({"sh", "-c", "exec ipset -n list 2>/dev/null"}, status);
  std::size_t at = 0;
  while (at < names.size()) {
    const auto nl = names.find('\n', at);
    const std::string name = names.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    at = nl == std::string::npos ? names.size() : nl + 1;
    if (!ipset_model_name(name).empty()) run_quiet({"ipset", "destroy", name});
  }
}

Status read_iptables_status(const Ruleset& expected) {
  Status st;
  Listing actual;
  int status = 0;
  parse_iptables_save(capture_program({"iptables-save", "-c"}, status), Family::V4, actual);
  parse_iptables_save(capture_program({"ip6tables-save", "-c"}, status), Family::V6, actual);
  parse_ipset_save(capture_program({"sh", "-c", "exec ipset save 2>/dev/null"}, status), actual);
  if (actual.chains.empty()) {
    st.drift.emplace_back("dnsfence's iptables chains are not applied");
    return st;
  }
  st.applied = true;
  st.counters = actual.counters;
  compare(expected_iptables(expected), actual, st);
  return st;
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
  remove_ipsets();
}

void apply_iptables(const Ruleset& rs) {
  apply_ipsets(rs);
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

Status read_status(const Ruleset& expected, common::FirewallBackend backend) {
  if (backend == common::FirewallBackend::Iptables) return read_iptables_status(expected);
  Status st;
  const std::string listing = list_table();
  if (listing.empty()) {
    st.drift.emplace_back("table inet dnsfence is not applied");
    return st;
  }
  st.applied = true;
  const Listing actual = parse_nft_listing(listing);
  st.counters = actual.counters;
  compare(expected_nft(expected), actual, st);
  return st;
}

void change_allowlist(const common::Prefix& p, bool add, common::FirewallBackend backend) {
  const std::string set = allowlist_set(p);
  if (backend == common::FirewallBackend::Iptables) {
    const std::string name = ipset_name(set);
    if (!ipset_exists(name)) throw std::runtime_error("ipset " + name + " does not exist: run firewall apply first");
    std::vector<std::string> argv{"ipset", add ? "add" : "del", name, nft_element(p)};
    if (add) argv.emplace_back("-exist");
    if (run_program(argv) != 0) throw std::runtime_error("ipset " + argv[1] + " " + name + ": failed");
    return;
  }
  Nft nft;
  nft.run(std::string(add ? "add" : "delete") + " element inet " + kTableName + " " + set + " { " + nft_element(p) +
          " }");
}

std::vector<std::string> list_allowlist(common::FirewallBackend backend) {
  Listing l;
  for (const char* set : kAllowlistSets) {
    if (backend == common::FirewallBackend::Iptables) {
      int status = 0;
      const std::string text = capture_program({"ipset", "save", ipset_name(set)}, status);
      if (status != 0) throw std::runtime_error("ipset save " + ipset_name(set) + ": failed");
      parse_ipset_save(text, l);
    } else {
      Nft nft(true);
      const auto part = parse_nft_listing(nft.run(std::string("list set inet ") + kTableName + " " + set));
      l.sets.insert(part.sets.begin(), part.sets.end());
    }
  }
  std::vector<std::string> out;
  for (const char* set : kAllowlistSets)
    for (const auto& e : l.sets[set]) out.push_back(e);
  return out;
}

namespace {

// Starts argv with one end of a pipe as its stdin (`feed`) or its stdout (!`feed`); returns its
// pid and sets `parent_end` to the other end, or returns -1.
pid_t spawn(const std::vector<std::string>& argv, bool feed, int& parent_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  const int child_end = feed ? fds[0] : fds[1];
  parent_end = feed ? fds[1] : fds[0];
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(child_end, feed ? 0 : 1);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    const std::string why = "dnsfence: cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, why.data(), why.size());
    ::_exit(127);
  }
  ::close(child_end);
  if (pid < 0) ::close(parent_end);
  return pid;
}

int exit_status(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return 128;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

}  // namespace

std::string capture_program(const std::vector<std::string>& argv, int& status) {
  status = 127;
  int from = -1;
  const pid_t pid = spawn(argv, false, from);
  if (pid < 0) return "";
  std::string out;
  char buf[65536];
  for (ssize_t n = 0; (n = ::read(from, buf, sizeof buf)) != 0;) {
    if (n > 0)
      out.append(buf, static_cast<std::size_t>(n));
    else if (errno != EINTR)
      break;
  }
  ::close(from);
  status = exit_status(pid);
  return out;
}

int run_program(const std::vector<std::string>& argv, const std::string& stdin_text) {
  int to = -1;
  const pid_t pid = spawn(argv, true, to);
  if (pid < 0) return 127;
  write_all(to, stdin_text);
  ::close(to);
  return exit_status(pid);
}

}  // namespace dnsfence::firewall
