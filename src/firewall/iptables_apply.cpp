#include "firewall/iptables_apply.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <utility>

#include "firewall/apply.hpp"
#include "firewall/iptables_render.hpp"
#include "firewall/iptables_snapshot.hpp"
#include "firewall/nft_render.hpp"
#include "firewall/tools.hpp"

namespace dnsfence::firewall {
namespace {

constexpr std::pair<const char*, Family> kTools[] = {{"iptables", Family::V4}, {"ip6tables", Family::V6}};

bool ipset_exists(const std::string& name) {
  return try_tool({"ipset", "-n", "list", name});
}

// Each set is filled under a temporary name, then swapped with the live one in one step (or
// renamed to it the first time): a lookup never sees a half-filled set. The temporary name keeps
// the old contents until the whole apply has succeeded, so that a rollback can swap them back.
void apply_ipsets(const Ruleset& rs, Undo& undo, std::vector<std::vector<std::string>>& on_commit) {
  const std::string listed = run_tool({"ipset", "-n", "list"});  // lines() views it: keep it alive
  std::set<std::string> existing;
  for (const auto name : lines(listed)) existing.emplace(name);
  std::string script;
  std::vector<std::string> fresh_names;
  for (const auto& s : rs.sets) {
    const std::string fresh = ipset_name(s.name) + "-new";
    if (existing.contains(fresh)) run_tool({"ipset", "destroy", fresh});  // left by an interrupted run
    script += render_ipset(s, fresh);
    fresh_names.push_back(fresh);
  }
  undo.push("ipset destroy *-new", [fresh_names] {
    for (const auto& f : fresh_names) try_tool({"ipset", "destroy", f});
  });
  run_tool({"ipset", "restore"}, script);
  for (const auto& s : rs.sets) {
    const std::string live = ipset_name(s.name);
    const std::string fresh = live + "-new";
    if (existing.contains(live)) {
      run_tool({"ipset", "swap", fresh, live});
      undo.push("ipset swap back " + live, [fresh, live] { run_tool({"ipset", "swap", fresh, live}); });
      on_commit.push_back({"ipset", "destroy", fresh});
    } else {
      run_tool({"ipset", "rename", fresh, live});
      undo.push("ipset destroy " + live, [live] { run_tool({"ipset", "destroy", live}); });
    }
  }
}

void restore(const std::string& tool, const std::string& input) {
  if (!input.empty()) run_tool({tool + "-restore", "-w", "--noflush"}, input);
}

// iptables-nft creates a table on the first restore that names it; once a rollback has emptied a
// table that did not exist before, delete it too (legacy iptables has no such thing to delete).
void drop_emptied_tables(const std::string& tool, const ChainSnapshot& was) {
  const auto tables = emptied_new_tables(was, snapshot_chains(run_tool({tool + "-save"})));
  if (tables.empty() || run_tool({tool, "-V"}).find("nf_tables") == std::string::npos) return;
  std::string script;
  for (const auto& t : tables)
    if (std::ranges::all_of(t, [](char c) { return c >= 'a' && c <= 'z'; }))
      script += std::string("delete table ") + (tool == "iptables" ? "ip " : "ip6 ") + t + "\n";
  Nft().run(script);
}

void apply_chains(const Ruleset& rs, Undo& undo) {
  std::vector<ChainSnapshot> before;
  for (const auto& [name, family] : kTools) {
    const std::string tool = name;
    before.push_back(snapshot_chains(run_tool({tool + "-save"})));
    // Recorded first (a restore of several tables may fail after committing some of them); it
    // compares with what the kernel holds by then, so it undoes exactly what did commit.
    undo.push(tool + "-restore (previous chains)", [tool, was = before.back()] {
      restore(tool, render_chain_restore(was, snapshot_chains(run_tool({tool + "-save"}))));
      drop_emptied_tables(tool, was);
    });
    restore(tool, render_iptables(rs, family));
  }
  for (const auto& [name, family] : kTools)
    for (const auto& h : iptables_hooks(rs)) {
      const std::string tool = name;
      if (try_tool({tool, "-w", "-t", h.table, "-C", h.builtin, "-j", h.chain})) continue;
      run_tool({tool, "-w", "-t", h.table, "-I", h.builtin, "1", "-j", h.chain});
      undo.push(tool + " -D " + h.builtin + " -j " + h.chain,
                [tool, h] { run_tool({tool, "-w", "-t", h.table, "-D", h.builtin, "-j", h.chain}); });
    }
  // Last, with everything new in place: a previous mode's chains (and jumps) go.
  for (std::size_t i = 0; i < before.size(); ++i) {
    const std::string tool = kTools[i].first;
    if (const auto stale = render_stale_removal(before[i], rs); !stale.empty()) {
      // `rs` outlives `undo`: both belong to apply_ruleset, which rolls back before returning.
      undo.push(tool + "-restore (previous mode's chains)", [tool, was = before[i], &rs] {
        restore(tool, render_stale_restore(was, rs, snapshot_chains(run_tool({tool + "-save"}))));
      });
      restore(tool, stale);
    }
  }
}

// Every dnsfence-* ipset (after the chains referring to them are gone).
void remove_ipsets() {
  std::string names;
  try {
    names = run_tool({"ipset", "-n", "list"});
  } catch (const std::runtime_error&) {
    return;  // no ipset tool or module: there are no ipsets to remove
  }
  for (const auto name : lines(names))
    if (!ipset_model_name(name).empty()) try_tool({"ipset", "destroy", std::string(name)});
}

std::string save_or_empty(const std::vector<std::string>& argv) {
  try {
    return run_tool(argv);
  } catch (const std::runtime_error&) {
    return "";  // the tool or its kernel module is missing: nothing of dnsfence's is there
  }
}

}  // namespace

void apply_iptables(const Ruleset& rs, Undo& undo, std::vector<std::vector<std::string>>& on_commit) {
  apply_ipsets(rs, undo, on_commit);
  apply_chains(rs, undo);
}

void remove_iptables() {
  // Exactly what iptables-save shows of dnsfence's: its jumps deleted, its chains flushed and
  // deleted, one restore per family (every chain of `before` is "stale" for an empty ruleset).
  for (const auto& [tool, family] : kTools) {
    restore(tool, render_stale_removal(snapshot_chains(save_or_empty({std::string(tool) + "-save"})), {}));
  }
  remove_ipsets();
}

Status read_iptables_status(const Ruleset& expected) {
  Status st;
  Listing actual;
  parse_iptables_save(save_or_empty({"iptables-save", "-c"}), Family::V4, actual);
  parse_iptables_save(save_or_empty({"ip6tables-save", "-c"}), Family::V6, actual);
  parse_ipset_save(save_or_empty({"ipset", "save"}), actual);
  if (actual.chains.empty()) {
    st.drift.emplace_back("dnsfence's iptables chains are not applied");
    return st;
  }
  st.applied = true;
  st.counters = actual.counters;
  compare(expected_iptables(expected), actual, st);
  return st;
}

void change_ipset_allowlist(const common::Prefix& p, bool add) {
  const std::string name = ipset_name(allowlist_set(p));
  if (!ipset_exists(name)) throw std::runtime_error("ipset " + name + " does not exist: run firewall apply first");
  std::vector<std::string> argv{"ipset", add ? "add" : "del", name, nft_element(p)};
  if (add) argv.emplace_back("-exist");
  run_tool(argv);
}

Listing list_ipset_allowlist() {
  Listing l;
  for (const char* set : kAllowlistSets) parse_ipset_save(run_tool({"ipset", "save", ipset_name(set)}), l);
  return l;
}

}  // namespace dnsfence::firewall
