#include "firewall/status.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "firewall/iptables_render.hpp"
#include "firewall/nft_render.hpp"
#include "firewall/tools.hpp"

namespace dnsfence::firewall {
namespace {

using nlohmann::json;

// at() throughout: a malformed listing throws instead of reading a missing key (undefined in a
// const json).
std::string element_text(const json& e) {
  if (e.is_string()) return e.get<std::string>();
  if (e.contains("prefix"))
    return e.at("prefix").at("addr").get<std::string>() + "/" + std::to_string(e.at("prefix").at("len").get<int>());
  if (e.contains("range")) return e.at("range").at(0).get<std::string>() + "-" + e.at("range").at(1).get<std::string>();
  if (e.contains("elem")) return element_text(e.at("elem").at("val"));
  return e.dump();
}

// "DNSFENCE-REDIRECT_DNS" -> "redirect_dns"; "" for chains that are not dnsfence's.
std::string model_chain(std::string_view ipt) {
  constexpr std::string_view kPrefix = "DNSFENCE-";
  if (!ipt.starts_with(kPrefix)) return "";
  std::string out(ipt.substr(kPrefix.size()));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The token after `option` ("--comment"), without the quotes iptables-save adds around spaces.
std::string option_value(std::string_view line, std::string_view option) {
  const auto at = line.find(std::string(option) + " ");
  if (at == std::string_view::npos) return "";
  line.remove_prefix(at + option.size() + 1);
  if (line.starts_with('"')) {
    line.remove_prefix(1);
    return std::string(line.substr(0, line.find('"')));
  }
  return std::string(line.substr(0, line.find(' ')));
}

std::uint64_t number(std::string_view s) {
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') break;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

Listing parse_nft_listing(std::string_view json_text) {
  const json listing = json::parse(json_text);
  Listing out;
  for (const auto& item : listing.at("nftables")) {
    if (item.contains("chain")) out.chains[item.at("chain").at("name").get<std::string>()];
    if (item.contains("set")) {
      auto& elems = out.sets[item.at("set").at("name").get<std::string>()];
      for (const auto& e : item.at("set").value("elem", json::array())) elems.push_back(element_text(e));
    }
    if (!item.contains("rule")) continue;
    const auto& r = item.at("rule");
    RuleCounter c{r.at("chain").get<std::string>(), r.value("comment", ""), 0, 0};
    for (const auto& x : r.at("expr"))
      if (x.contains("counter"))
        c.packets = x.at("counter").at("packets").get<std::uint64_t>(),
        c.bytes = x.at("counter").at("bytes").get<std::uint64_t>();
    out.chains[c.chain].push_back(c.name);
    out.counters.push_back(c);
  }
  return out;
}

Listing expected_nft(const Ruleset& rs) {
  Listing out;
  for (const auto& c : rs.chains) {
    auto& names = out.chains[c.name];
    for (const auto& r : c.rules) names.push_back(r.name);
  }
  for (const auto& s : rs.sets) {
    auto& elems = out.sets[s.name];
    for (const auto& p : s.elements) elems.push_back(nft_element(p));
  }
  return out;
}

void parse_iptables_save(std::string_view text, Family family, Listing& out) {
  const std::string suffix = family == Family::V6 ? " (ip6tables)" : "";
  for (auto line : lines(text)) {
    if (line.starts_with(':')) {
      const auto chain = model_chain(line.substr(1, line.find(' ') - 1));
      if (!chain.empty()) out.chains[chain + suffix];
      continue;
    }
    RuleCounter c;
    if (line.starts_with('[')) {  // "[packets:bytes] -A ...", from iptables-save -c
      const auto colon = line.find(':');
      const auto close = line.find("] ");
      if (colon == std::string_view::npos || close == std::string_view::npos) continue;
      c.packets = number(line.substr(1));
      c.bytes = number(line.substr(colon + 1));
      line.remove_prefix(close + 2);
    }
    if (!line.starts_with("-A ")) continue;
    c.chain = model_chain(line.substr(3, line.find(' ', 3) - 3));
    if (c.chain.empty()) continue;
    c.name = option_value(line, "--comment");
    out.chains[c.chain + suffix].push_back(c.name);
    out.counters.push_back(c);
  }
}

void parse_ipset_save(std::string_view text, Listing& out) {
  for (const auto line : lines(text)) {
    const bool create = line.starts_with("create ");
    if (!create && !line.starts_with("add ")) continue;
    auto rest = line.substr(create ? 7 : 4);
    const auto space = rest.find(' ');
    const std::string set = ipset_model_name(rest.substr(0, space));
    if (set.empty() || space == std::string_view::npos) continue;
    auto& elems = out.sets[set];
    if (!create) {
      rest.remove_prefix(space + 1);
      elems.emplace_back(rest.substr(0, rest.find(' ')));
    }
  }
}

Listing expected_iptables(const Ruleset& rs) {
  Listing out = expected_nft(rs);
  out.chains.clear();
  parse_iptables_save(render_iptables(rs, Family::V4), Family::V4, out);
  parse_iptables_save(render_iptables(rs, Family::V6), Family::V6, out);
  out.counters.clear();
  return out;
}

void compare(const Listing& expected, const Listing& actual, Status& st) {
  auto chains = actual.chains;
  for (const auto& [name, rules] : expected.chains) {
    const auto have = chains.find(name);
    if (have == chains.end())
      st.drift.push_back("chain " + name + " is missing");
    else if (have->second != rules)
      st.drift.push_back("chain " + name + ": rules differ from the configuration");
    chains.erase(name);
  }
  for (const auto& [name, rules] : chains) st.drift.push_back("chain " + name + " is not in the configuration");
  for (const auto& [name, elements] : expected.sets) {
    const auto have = actual.sets.find(name);
    if (have == actual.sets.end()) {
      st.drift.push_back("set " + name + " is missing");
      continue;
    }
    // The kernel lists a set's elements in its own order (ascending, or hash order), not the file's.
    auto want = elements;
    auto got = have->second;
    std::ranges::sort(want);
    std::ranges::sort(got);
    if (got != want) st.drift.push_back("set " + name + ": elements differ from the configuration");
  }
}

}  // namespace dnsfence::firewall
