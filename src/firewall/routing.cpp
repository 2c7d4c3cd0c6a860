#include "firewall/routing.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "common/spawn.hpp"
#include "firewall/tools.hpp"

namespace dnsfence::firewall {
namespace {

using nlohmann::json;

const char* flag(Family f) {
  return f == Family::V6 ? "-6" : "-4";
}
const char* label(Family f) {
  return f == Family::V6 ? "IPv6" : "IPv4";
}

std::vector<std::string> rule_argv(const char* verb, const PolicyRoute& r, Family f) {
  return {"ip", flag(f), "rule", verb, "fwmark", hex_mark(r.mark), "lookup", std::to_string(r.table)};
}

std::vector<std::string> route_argv(const char* verb, const PolicyRoute& r, Family f) {
  return {"ip", flag(f), "route", verb, "local", "default", "dev", "lo", "table", std::to_string(r.table)};
}

RoutingState read_state(const PolicyRoute& r, Family f) {
  const std::vector<std::string> routes{"ip", "-j", flag(f), "route", "show", "table", std::to_string(r.table)};
  auto listed = common::spawn(routes);
  // A table with no route at all does not exist for IPv4: "Error: ipv4: FIB table does not exist."
  if (!listed.ok() && listed.error.empty() && listed.err.find("table does not exist") != std::string::npos)
    listed.out = "[]";
  else if (!listed.ok())
    throw std::runtime_error(listed.describe(routes));
  return parse_routing(r, run_tool({"ip", "-j", flag(f), "rule", "list"}), listed.out);
}

std::string describe_rule(const json& j) {
  std::string out = "ip rule";
  for (const auto& [k, v] : j.items())
    if (k != "priority" && k != "src" && !v.is_null())
      out += " " + k + " " + (v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// Adds what is missing for one family (`st`: what it holds now), recording each addition.
void apply_family(const PolicyRoute& r, Family f, const RoutingState& st, Undo& undo) {
  if (!st.rule) {
    run_tool(rule_argv("add", r, f));
    undo.push(std::string("ip ") + flag(f) + " rule del fwmark", [r, f] { run_tool(rule_argv("del", r, f)); });
  }
  if (!st.route) {
    run_tool(route_argv("add", r, f));
    undo.push(std::string("ip ") + flag(f) + " route del local default", [r, f] { run_tool(route_argv("del", r, f)); });
  }
}

}  // namespace

Families detect_families(const std::filesystem::path& proc_sys_net) {
  Families out;
  if (!std::filesystem::exists(proc_sys_net / "ipv6")) {
    out.v6 = false;
    out.v6_off = "the kernel has no IPv6 (no " + (proc_sys_net / "ipv6").string() + ")";
    return out;
  }
  std::ifstream in(proc_sys_net / "ipv6/conf/lo/disable_ipv6");
  int disabled = 0;
  if (in >> disabled && disabled != 0) {
    out.v6 = false;
    out.v6_off = "IPv6 is disabled (net.ipv6.conf.lo.disable_ipv6 = 1)";
  }
  return out;
}

RoutingState parse_routing(const PolicyRoute& r, std::string_view rules_json, std::string_view routes_json) {
  RoutingState st;
  const std::string mark = hex_mark(r.mark);
  const std::string table = std::to_string(r.table);
  for (const auto& j : json::parse(rules_json.empty() ? "[]" : rules_json)) {
    if (j.value("fwmark", "") != mark) continue;
    const bool ours = j.value("table", "") == table && j.value("src", "all") == "all" && !j.contains("fwmask") &&
                      !j.contains("action") && !j.contains("iif") && !j.contains("oif") && !j.contains("dst");
    if (ours)
      st.rule = true;
    else
      st.conflicts.push_back("fwmark " + mark + " already has another rule: " + describe_rule(j) +
                             " (choose another firewall.tproxy_mark)");
  }
  for (const auto& j : json::parse(routes_json.empty() ? "[]" : routes_json)) {
    if (j.value("type", "") == "local" && j.value("dst", "") == "default" && j.value("dev", "") == "lo") {
      st.route = true;
      continue;
    }
    std::string what = j.value("type", "unicast") + " " + j.value("dst", "?");
    if (j.contains("gateway")) what += " via " + j.value("gateway", "");
    if (j.contains("dev")) what += " dev " + j.value("dev", "");
    st.conflicts.push_back(std::string("table ")
                               .append(table)
                               .append(" already holds a route that is not dnsfence's: ")
                               .append(what)
                               .append(" (choose another firewall.tproxy_table)"));
  }
  return st;
}

std::vector<std::string> routing_drift(const PolicyRoute& r, Family f, const RoutingState& st) {
  const std::string head = std::string("policy routing (") + label(f) + "): ";
  std::vector<std::string> out;
  if (!st.rule)
    out.push_back(head + "no rule 'fwmark " + hex_mark(r.mark) + " lookup " + std::to_string(r.table) + "'");
  if (!st.route) out.push_back(head + "table " + std::to_string(r.table) + " has no route 'local default dev lo'");
  for (const auto& c : st.conflicts) out.push_back(head + c);
  return out;
}

void apply_policy_route(const PolicyRoute& r, const Families& families, Undo& undo) {
  // Every family is read and checked before anything is added: a conflict refuses the whole apply.
  std::vector<std::pair<Family, RoutingState>> todo{{Family::V4, read_state(r, Family::V4)}};
  if (families.v6) todo.emplace_back(Family::V6, read_state(r, Family::V6));
  for (const auto& [f, st] : todo)
    if (!st.conflicts.empty())
      throw std::runtime_error(std::string("policy routing (") + label(f) + "): " + st.conflicts.front());
  for (const auto& [f, st] : todo) apply_family(r, f, st, undo);
}

void remove_policy_route(const PolicyRoute& r) {
  for (const Family f : {Family::V4, Family::V6}) {
    while (try_tool(rule_argv("del", r, f))) {
    }
    try_tool(route_argv("del", r, f));
  }
}

std::vector<std::string> read_routing_drift(const PolicyRoute& r, const Families& families) {
  auto out = routing_drift(r, Family::V4, read_state(r, Family::V4));
  if (families.v6)
    for (auto& d : routing_drift(r, Family::V6, read_state(r, Family::V6))) out.push_back(std::move(d));
  return out;
}

}  // namespace dnsfence::firewall
