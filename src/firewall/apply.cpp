#include "firewall/apply.hpp"

#include <stdexcept>

#include "firewall/iptables_apply.hpp"
#include "firewall/libnftables.hpp"
#include "firewall/nft_render.hpp"
#include "firewall/routing.hpp"
#include "firewall/tools.hpp"
#include "firewall/undo.hpp"

namespace dnsfence::firewall {
namespace {

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

Status read_nft_status(const Ruleset& expected) {
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

// Everything that can be known before the first change: names, programs, families.
Families preflight(const Ruleset& rs, common::FirewallBackend backend, ApplyReport& report) {
  check_names(rs);
  if (backend == common::FirewallBackend::Iptables)
    require_tools(
        {"ipset", "iptables", "ip6tables", "iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save"},
        "the iptables backend");
  if (!rs.policy_route) return {};
  require_tools({"ip"}, "tproxy's policy routing");
  const Families families = detect_families();
  if (!families.v6)
    report.notes.push_back(families.v6_off +
                           ": tproxy's IPv6 policy routing is skipped (no IPv6 DNS can arrive); after enabling "
                           "IPv6, apply again (until then status reports it missing)");
  return families;
}

[[noreturn]] void fail_rolled_back(const std::exception& e, Undo& undo) {
  const auto left = undo.rollback();
  std::string msg = std::string(e.what()) + "; ";
  if (left.empty()) {
    msg += "rolled back: nothing was changed";
  } else {
    msg += "rollback INCOMPLETE, still to undo by hand:";
    for (const auto& l : left) msg += " [" + l + "]";
  }
  throw std::runtime_error(msg);
}

}  // namespace

Nft::Nft(bool json_output) : ctx_(libnftables().ctx_new(NFT_CTX_DEFAULT)) {
  const LibNftables& nft = libnftables();
  if (ctx_ == nullptr) throw std::runtime_error("libnftables: cannot create a context");
  nft.ctx_buffer_output(ctx_);
  nft.ctx_buffer_error(ctx_);
  if (json_output) nft.ctx_output_set_flags(ctx_, NFT_CTX_OUTPUT_JSON);
}

Nft::~Nft() {
  libnftables().ctx_free(ctx_);
}

std::string Nft::run(const std::string& script) {
  const LibNftables& nft = libnftables();
  if (nft.run_cmd_from_buffer(ctx_, script.c_str()) != 0) {
    std::string err = nft.ctx_get_error_buffer(ctx_);
    while (!err.empty() && err.back() == '\n') err.pop_back();
    throw std::runtime_error("libnftables: " + err);
  }
  return nft.ctx_get_output_buffer(ctx_);
}

ApplyReport apply_ruleset(const Ruleset& rs, common::FirewallBackend backend) {
  ApplyReport report;
  const Families families = preflight(rs, backend, report);
  const bool nft = backend == common::FirewallBackend::Nft;
  const std::string script = nft ? render_nft_apply(rs) : "";
  Undo undo;
  std::vector<std::vector<std::string>> on_commit;
  try {
    // The routing first: it is inert until the table marks packets, and the nft transaction, the
    // one step that cannot be undone piecemeal, comes last.
    if (rs.policy_route) apply_policy_route(*rs.policy_route, families, undo);
    if (nft)
      Nft().run(script);
    else
      apply_iptables(rs, undo, on_commit);
  } catch (const std::exception& e) {
    fail_rolled_back(e, undo);
  }
  undo.commit();
  for (const auto& argv : on_commit) try_tool(argv);  // old ipset contents; a leftover is harmless
  return report;
}

void remove_ruleset(common::FirewallBackend backend, const PolicyRoute& route) {
  if (backend == common::FirewallBackend::Nft)
    Nft().run(render_nft_remove());
  else
    remove_iptables();
  remove_policy_route(route);
}

Status read_status(const Ruleset& expected, common::FirewallBackend backend) {
  Status st = backend == common::FirewallBackend::Iptables ? read_iptables_status(expected) : read_nft_status(expected);
  if (expected.policy_route) {
    const Families families = detect_families();
    for (auto& d : read_routing_drift(*expected.policy_route, families)) st.drift.push_back(std::move(d));
    if (!families.v6) st.notes.push_back(families.v6_off + ": IPv6 policy routing not expected");
  }
  return st;
}

void change_allowlist(const common::Prefix& p, bool add, common::FirewallBackend backend) {
  if (backend == common::FirewallBackend::Iptables) {
    change_ipset_allowlist(p, add);
    return;
  }
  Nft().run(std::string(add ? "add" : "delete") + " element inet " + kTableName + " " + allowlist_set(p) + " { " +
            nft_element(p) + " }");
}

std::vector<std::string> list_allowlist(common::FirewallBackend backend) {
  Listing l;
  if (backend == common::FirewallBackend::Iptables) {
    l = list_ipset_allowlist();
  } else {
    for (const char* set : kAllowlistSets) {
      const auto part = parse_nft_listing(Nft(true).run(std::string("list set inet ") + kTableName + " " + set));
      l.sets.insert(part.sets.begin(), part.sets.end());
    }
  }
  std::vector<std::string> out;
  for (const char* set : kAllowlistSets)
    for (const auto& e : l.sets[set]) out.push_back(e);
  return out;
}

}  // namespace dnsfence::firewall
