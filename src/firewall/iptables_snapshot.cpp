#include "firewall/iptables_snapshot.hpp"

#include <algorithm>
#include <set>

#include "firewall/iptables_render.hpp"
#include "firewall/tools.hpp"

namespace dnsfence::firewall {
namespace {

// The word after `-j` or `-g`, "" without one.
std::string target_of(std::string_view spec) {
  for (const std::string_view flag : {"-j ", "-g "}) {
    const auto at = spec.find(flag);
    if (at == std::string_view::npos) continue;
    const auto rest = spec.substr(at + 3);
    return std::string(rest.substr(0, rest.find(' ')));
  }
  return "";
}

// The chain of an "-A CHAIN ..." line.
std::string chain_of(std::string_view rule) {
  rule.remove_prefix(3);
  return std::string(rule.substr(0, rule.find(' ')));
}

// table -> the DNSFENCE-* chains `rs` declares there (both families declare the same ones).
std::map<std::string, std::set<std::string>> chains_of(const Ruleset& rs) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [table, names] : snapshot_chains(render_iptables(rs, Family::V4)).chains)
    out[table].insert(names.begin(), names.end());
  return out;
}

// table -> the chains `before` has and `rs` has not.
std::map<std::string, std::set<std::string>> stale_chains(const ChainSnapshot& before, const Ruleset& rs) {
  const auto wanted = chains_of(rs);
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [table, names] : before.chains)
    for (const auto& c : names) {
      const auto w = wanted.find(table);
      if (w == wanted.end() || !w->second.contains(c)) out[table].insert(c);
    }
  return out;
}

}  // namespace

ChainSnapshot snapshot_chains(std::string_view save) {
  ChainSnapshot out;
  std::string table;
  std::map<std::string, int> position;  // per built-in chain of the current table
  for (const auto line : lines(save)) {
    if (line.starts_with('*')) {
      table = std::string(line.substr(1));
      position.clear();
      out.tables[table] = true;
    } else if (line.starts_with(':') && !line.starts_with(":DNSFENCE-")) {
      if (line.find(" ACCEPT ") == std::string_view::npos) out.tables[table] = false;  // a policy, or a chain
    } else if (line.starts_with(":DNSFENCE-")) {
      out.tables[table] = false;
      out.chains[table].emplace_back(line.substr(1, line.find(' ') - 1));
    } else if (line.starts_with("-A ")) {
      out.tables[table] = false;
    }
    if (line.starts_with("-A DNSFENCE-")) {
      out.rules[table].emplace_back(line);
    } else if (line.starts_with("-A ")) {
      const std::string builtin = chain_of(line);
      const int pos = ++position[builtin];
      const auto spec = line.substr(4 + builtin.size());
      if (const auto target = target_of(spec); target.starts_with("DNSFENCE-"))
        out.jumps[table].push_back({builtin, pos, std::string(spec), target});
    }
  }
  return out;
}

std::string render_chain_restore(const ChainSnapshot& before, const ChainSnapshot& now) {
  std::map<std::string, std::set<std::string>> chains;  // table -> every chain either side has
  for (const auto* side : {&before, &now})
    for (const auto& [table, names] : side->chains) chains[table].insert(names.begin(), names.end());
  std::string out;
  for (const auto& [table, names] : chains) {
    if (names.empty()) continue;  // nothing there, nothing to put back: do not even create the table
    out += "*" + table + "\n";
    for (const auto& c : names) out += ":" + c + " - [0:0]\n";  // creates or flushes
    const auto had = before.chains.find(table);
    for (const auto& c : names)
      if (had == before.chains.end() || std::ranges::find(had->second, c) == had->second.end()) out += "-X " + c + "\n";
    if (const auto r = before.rules.find(table); r != before.rules.end())
      for (const auto& line : r->second) out += line + "\n";
    out += "COMMIT\n";
  }
  return out.empty() ? "" : "# dnsfence rollback: the DNSFENCE-* chains as they were\n" + out;
}

std::vector<std::string> emptied_new_tables(const ChainSnapshot& before, const ChainSnapshot& now) {
  std::vector<std::string> out;
  for (const auto& [table, empty] : now.tables)
    if (empty && !before.tables.contains(table)) out.push_back(table);
  return out;
}

std::string render_stale_removal(const ChainSnapshot& before, const Ruleset& rs) {
  std::string out;
  for (const auto& [table, stale] : stale_chains(before, rs)) {
    out += "*" + table + "\n";
    if (const auto j = before.jumps.find(table); j != before.jumps.end())
      for (const auto& jump : j->second)
        if (stale.contains(jump.chain)) out += "-D " + jump.builtin + " " + jump.spec + "\n";
    for (const auto& c : stale) out += "-F " + c + "\n";  // all flushed first: they refer to each other
    for (const auto& c : stale) out += "-X " + c + "\n";
    out += "COMMIT\n";
  }
  return out.empty() ? "" : "# dnsfence: the DNSFENCE-* chains of a previous mode\n" + out;
}

std::string render_stale_restore(const ChainSnapshot& before, const Ruleset& rs, const ChainSnapshot& now) {
  std::string out;
  for (const auto& [table, stale] : stale_chains(before, rs)) {
    std::set<std::string> gone;  // the stale chains the kernel no longer has (their table committed)
    const auto have = now.chains.find(table);
    for (const auto& c : stale)
      if (have == now.chains.end() || std::ranges::find(have->second, c) == have->second.end()) gone.insert(c);
    if (gone.empty()) continue;
    out += "*" + table + "\n";
    for (const auto& c : gone) out += ":" + c + " - [0:0]\n";
    if (const auto r = before.rules.find(table); r != before.rules.end())
      for (const auto& line : r->second)
        if (gone.contains(chain_of(line))) out += line + "\n";
    if (const auto j = before.jumps.find(table); j != before.jumps.end())
      for (const auto& jump : j->second)  // in saved order: each lands where it was
        if (gone.contains(jump.chain))
          out += "-I " + jump.builtin + " " + std::to_string(jump.position) + " " + jump.spec + "\n";
    out += "COMMIT\n";
  }
  return out.empty() ? "" : "# dnsfence rollback: the DNSFENCE-* chains of the previous mode\n" + out;
}

}  // namespace dnsfence::firewall
