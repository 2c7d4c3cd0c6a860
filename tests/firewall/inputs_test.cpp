// Operator strings never change the ruleset: every string field of the configuration that reaches
// the firewall is tried with injection payloads (refused at load with FILE:LINE and the reason), a
// seeded generator tries thousands of names (accepted ones are rendered verbatim and nowhere else),
// and the renderers themselves refuse a model built in code with unsafe names.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "firewall/iptables_render.hpp"
#include "firewall/model.hpp"
#include "firewall/nft_render.hpp"

namespace dnsfence::firewall {
namespace {

// A TOML basic string holding `s` exactly.
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

const std::vector<std::string> kPayloads = {
    "wg0\"; flush ruleset; \"",
    "wg0\" } chain x { type filter hook input priority 0; policy drop; }",
    "wg0\n",
    "wg0;",
    "wg0 }",
    "wg0 -j ACCEPT",
    "-j ACCEPT",
    "--help",
    "$(reboot)",
    "`id`",
    "wg0#",
    "wg0\t",
    "wg0'",
    "wg0\\",
    "wg{0}",
    "wg*",
    "wg+",
    "..",
    "wg0 comment \"x\"",
    "wg0/1",
    "wg0:1",
    "averyveryverylongname",
    "",
    std::string("wg\0x", 4),
};

struct Field {
  const char* name;  // "section.key", as the error names it
  bool list;         // an array of strings, else a string
};

const std::vector<Field> kFields = {
    {"firewall.interfaces", true},    {"firewall.tunnel", false},    {"firewall.sources", true},
    {"firewall.resolvers", true},     {"allowlist.addresses", true}, {"serve.listen", true},
    {"serve.tproxy_listen", true},    {"serve.upstreams", true},     {"firewall.mode", false},
    {"firewall.backend", false},      {"firewall.profile", false},   {"firewall.tproxy_mark", false},
    {"firewall.tproxy_table", false},
};

// Line 3 holds the field; the rest makes an otherwise valid server (or client) configuration.
std::string config_with(const Field& f, const std::string& payload) {
  const std::string name = f.name;
  const std::string section = name.substr(0, name.find('.'));
  const std::string key = name.substr(name.find('.') + 1);
  const std::string value = f.list ? "[" + toml_string(payload) + "]" : toml_string(payload);
  std::string text = "# injection through " + name + "\n[" + section + "]\n" + key + " = " + value + "\n";
  if (name == "firewall.tunnel") text += "profile = \"client\"\nresolvers = [\"10.0.0.1\"]\n";
  if (section == "firewall" && name != "firewall.interfaces") text += "interfaces = [\"wg0\"]\n";
  if (name != "serve.upstreams")
    text += (section == "serve" ? "" : "[serve]\n") + std::string("upstreams = [\"10.0.0.1\"]\n");
  if (name != "serve.listen") text += "listen = [\"0.0.0.0:53\"]\n";
  if (section == "allowlist") text += "[firewall]\ninterfaces = [\"wg0\"]\n";
  return text;
}

// Loads and renders both backends; "" when it all worked, else the ConfigError's message.
std::string outcome(const std::string& text) {
  try {
    const auto rs = build_ruleset(common::parse_config(text, "t.toml"));
    (void)render_nft_table(rs);
    (void)render_iptables(rs, Family::V4);
    return "";
  } catch (const common::ConfigError& e) {
    return e.what();
  }
}

TEST(FirewallInputs, EveryStringFieldRefusesInjectionAtItsLine) {
  for (const auto& f : kFields)
    for (const auto& p : kPayloads) {
      const std::string err = outcome(config_with(f, p));
      // tunnel = "" means "not set" (the packaged example has it): the client profile, at its
      // table's line, says it needs one.
      const bool unset = p.empty() && std::string(f.name) == "firewall.tunnel";
      EXPECT_EQ(err.rfind(unset ? "t.toml:2:" : "t.toml:3:", 0), 0U)
          << f.name << " with payload " << toml_string(p) << ": " << err;
      EXPECT_NE(err.find(f.name), std::string::npos) << f.name << ": " << err;
    }
}

TEST(FirewallInputs, DohFileRefusesInjectionAtItsLine) {
  const auto dir = std::filesystem::temp_directory_path() / ("dnsfence-inputs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const auto& p : kPayloads) {
    std::ofstream(dir / "doh.txt") << "# DoH\n192.0.2.1\n" << p << (p.empty() ? "x" : "") << "\n";
    const std::string text = "[firewall]\nmode = \"block\"\ninterfaces = [\"wg0\"]\ndoh_addresses_file = " +
                             toml_string((dir / "doh.txt").string()) + "\n";
    EXPECT_EQ(outcome(text).rfind((dir / "doh.txt").string() + ":3: ", 0), 0U) << toml_string(p);
  }
  std::filesystem::remove_all(dir);
}

TEST(FirewallInputs, MarkAndTableThatWouldCaptureAllTrafficAreRefused) {
  const std::string head =
      "[serve]\nlisten = [\"0.0.0.0:53\"]\nupstreams = [\"10.0.0.1\"]\n[firewall]\ninterfaces = [\"wg0\"]\n";
  EXPECT_EQ(outcome(head + "tproxy_mark = 0\n"), "t.toml:6:15: firewall.tproxy_mark must be between 1 and 4294967295");
  for (const char* table : {"253", "254", "255"})
    EXPECT_EQ(outcome(head + "tproxy_table = " + table + "\n"),
              "t.toml:6:16: firewall.tproxy_table must be a routing table of its own, not 253 (default), 254 (main) "
              "or 255 (local)");
  EXPECT_EQ(outcome(head + "tproxy_table = 0\n"),
            "t.toml:6:16: firewall.tproxy_table must be between 1 and 4294967295");
  EXPECT_EQ(outcome(head + "tproxy_mark = 0x10\ntproxy_table = 252\n"), "");
}

TEST(FirewallInputs, ReasonsNameTheRule) {
  EXPECT_EQ(common::interface_name_problem("wg0\";"),
            "interface names may hold only letters, digits, '.', '_' and '-'; not 'wg0\";'");
  EXPECT_EQ(common::interface_name_problem("wg0\n"),
            "interface names may hold only letters, digits, '.', '_' and '-'; not 'wg0\\x0a'");
  EXPECT_EQ(common::interface_name_problem("-i"), "'-i' is not an interface name: it starts with '-'");
  EXPECT_EQ(common::interface_name_problem("0123456789abcdef"),
            "'0123456789abcdef' is not an interface name: 1 to 15 characters");
  EXPECT_EQ(common::interface_name_problem("wg-vpn.0_a"), "");
  EXPECT_EQ(outcome("[firewall]\nmode = \"block\"\ninterfaces = [\"wg0\", \"wg0\"]\n"),
            "t.toml:3:22: firewall.interfaces: 'wg0' is listed twice");
}

// An oracle written independently of interface_name_problem.
bool oracle_accepts(const std::string& s) {
  static const std::regex kName("[A-Za-z0-9._][A-Za-z0-9._-]{0,14}");
  return std::regex_match(s, kName) && s != "." && s != "..";
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

struct Rendered {
  std::string err;
  std::string text;  // nft table + iptables v4 and v6
};

Rendered render_with(const std::string& head, const std::string& key, const std::string& name) {
  try {
    const auto rs = build_ruleset(
        common::parse_config(head + key + " = " + toml_string(name) + "\n" + "interfaces = [\"x0\"]\n", "t.toml"));
    return {"", render_nft_table(rs) + render_iptables(rs, Family::V4) + render_iptables(rs, Family::V6)};
  } catch (const common::ConfigError& e) {
    return {e.what(), ""};
  }
}

// Seeded, so a failure reproduces: names drawn mostly from the safe alphabet with a sprinkle of
// everything that means something to nft, iptables, a shell or TOML.
TEST(FirewallInputs, GeneratedNamesAreRefusedOrRenderedVerbatim) {
  const std::string safe = "abcwgXYZ0129._-";
  const std::string risky = " \"';{}#$\\\n\t*@:/!&|<>`()[],+=~\r\x01\x7f";
  std::mt19937 rng(20260514);
  const std::string client = "[firewall]\nprofile = \"client\"\nresolvers = [\"10.0.0.1\"]\n";
  const auto reference = render_with(client, "tunnel", "REFNAME");
  ASSERT_EQ(reference.err, "");
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string name(std::uniform_int_distribution<std::size_t>(0, 18)(rng), ' ');
    for (char& c : name)
      c = std::uniform_int_distribution<int>(0, 9)(rng) < 8 ? safe[rng() % safe.size()] : risky[rng() % risky.size()];
    const auto got = render_with(client, "tunnel", name);
    if (oracle_accepts(name)) {
      ++accepted;
      ASSERT_EQ(got.err, "") << toml_string(name);
      ASSERT_EQ(got.text, replace_all(reference.text, "REFNAME", name)) << toml_string(name);
    } else {
      ASSERT_EQ(got.err.rfind(name.empty() ? "t.toml:1:" : "t.toml:4:", 0), 0U) << toml_string(name) << ": " << got.err;
      ASSERT_NE(got.err.find("firewall.tunnel"), std::string::npos) << got.err;
    }
  }
  EXPECT_GT(accepted, 300);  // the generator does exercise both sides
  EXPECT_LT(accepted, 2700);
}

// A model built in code (not from a config) with an unsafe name never reaches a script.
TEST(FirewallInputs, RenderersRefuseUnsafeNamesInTheModel) {
  auto good = [] {
    Ruleset rs;
    rs.sets.push_back({"allow_v4", Family::V4, {}, false});
    rs.chains.push_back({"forward", Hook::Forward, ChainKind::Filter, {}});
    rs.chains.back().rules.push_back({.name = "r", .iifnames = {"wg0"}, .daddr_set = "allow_v4"});
    return rs;
  };
  EXPECT_NO_THROW(render_nft_table(good()));
  std::vector<Ruleset> bad(7, good());
  bad[0].sets[0].name = "allow_v4 { }";
  bad[1].chains[0].name = "forward; flush ruleset";
  bad[2].chains[0].rules[0].name = "r\" drop comment \"";
  bad[3].chains[0].rules[0].iifnames = {"wg0\", \"lo"};
  bad[4].chains[0].rules[0].oifname = "lo -j ACCEPT";
  bad[5].chains[0].rules[0].daddr_set = "x\n";
  bad[6].chains[0].rules[0].goto_chain = "g;";
  for (const auto& rs : bad) {
    EXPECT_THROW(render_nft_table(rs), std::invalid_argument);
    EXPECT_THROW(render_iptables(rs, Family::V4), std::invalid_argument);
    EXPECT_THROW(render_ipsets(rs), std::invalid_argument);
  }
  common::Config c;
  c.source = "code";
  c.firewall.interfaces = {"wg0\"; flush ruleset"};
  EXPECT_THROW(build_ruleset(c), common::ConfigError);
}

// tproxy mode: allowlisted resolvers return before the tproxy rules, so `allow add` takes effect.
TEST(FirewallInputs, TproxyExemptsTheAllowlistBeforeIntercepting) {
  const auto rs = build_ruleset(common::parse_config(
      "[serve]\ntproxy_listen = [\"0.0.0.0:5300\"]\nupstreams = [\"10.0.0.1\"]\n[firewall]\nmode = \"tproxy\"\n"
      "interfaces = [\"wg0\"]\n",
      "t"));
  const Chain* chain = nullptr;
  for (const auto& c : rs.chains)
    if (c.name == "tproxy_dns") chain = &c;
  ASSERT_NE(chain, nullptr);
  std::vector<std::string> sets;
  std::size_t i = 0;
  for (; i < chain->rules.size() && chain->rules[i].verdict == Verdict::Return; ++i)
    sets.push_back(chain->rules[i].daddr_set);
  EXPECT_EQ(i, 8U);
  for (const char* s : kAllowlistSets) EXPECT_EQ(std::ranges::count(sets, s), 2) << s;  // udp and tcp
  for (; i < chain->rules.size(); ++i) EXPECT_EQ(chain->rules[i].verdict, Verdict::Tproxy);
}

}  // namespace
}  // namespace dnsfence::firewall
