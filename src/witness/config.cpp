#include "witness/config.hpp"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "common/hex.hpp"

namespace dnsfence::witness {
namespace {

// Reports problems at the line of the node they concern.
class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::node* node, const std::string& reason) const {
    const auto line = node != nullptr ? node->source().begin.line : 0;
    throw ConfigError(source_ + ":" + std::to_string(line) + ": " + reason);
  }
  std::string string(const toml::node& n, const std::string& key) const {
    if (!n.is_string()) fail(&n, key + ": expected a string");
    return n.as_string()->get();
  }
  std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t lo, std::int64_t hi) const {
    if (!n.is_integer()) fail(&n, key + ": expected an integer");
    const std::int64_t v = n.as_integer()->get();
    if (v < lo || v > hi) fail(&n, key + ": must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return v;
  }
  std::vector<const toml::node*> array(const toml::node& n, const std::string& key) const {
    if (!n.is_array()) fail(&n, key + ": expected an array");
    std::vector<const toml::node*> out;
    for (const auto& e : *n.as_array()) out.push_back(&e);
    return out;
  }
  dns::Name name(const toml::node& n, const std::string& key) const {
    auto v = dns::Name::from_text(string(n, key));
    if (!v) fail(&n, key + ": " + std::string(v.error()));
    return *v;
  }
  common::IpAddress address(const toml::node& n, const std::string& key) const {
    auto v = common::IpAddress::parse(string(n, key));
    if (!v) fail(&n, key + ": " + std::string(v.error()));
    return *v;
  }
  common::SocketAddress endpoint(const toml::node& n, const std::string& key, std::uint16_t port) const {
    auto v = common::SocketAddress::parse(string(n, key), port);
    if (!v) fail(&n, key + ": " + v.error());
    return *v;
  }
  std::vector<common::IpAddress> addresses(const toml::node& n, const std::string& key) const {
    std::vector<common::IpAddress> out;
    for (const auto* e : array(n, key)) out.push_back(address(*e, key));
    return out;
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

std::vector<NsHost> ns_set(const Checker& c, const toml::node& n, const std::string& key, int family) {
  std::vector<NsHost> out;
  for (const auto* e : c.array(n, key)) {
    if (!e->is_table()) c.fail(e, key + ": expected tables with name and addresses");
    NsHost h;
    bool named = false;
    for (const auto& [k, v] : *e->as_table()) {
      if (k.str() == "name") {
        h.name = c.name(v, key + ".name");
        named = true;
      } else if (k.str() == "addresses") {
        h.addresses = c.addresses(v, key + ".addresses");
        for (const auto& a : h.addresses) {
          if ((family == 4 && !a.is_v4()) || (family == 6 && a.is_v4())) {
            std::string why = key;
            why += ".addresses: only IPv" + std::to_string(family) + " addresses belong in ";
            c.fail(&v, why += key);
          }
        }
      } else {
        c.fail(&v, key + ": unknown key \"" + std::string(k.str()) + "\"");
      }
    }
    if (!named) c.fail(e, key + ": name is required");
    out.push_back(std::move(h));
  }
  return out;
}

// Keys with a scalar value; returns false if `key` is not one of them.
bool scalar(const Checker& c, WitnessConfig& w, const std::string& key, const toml::node& v) {
  constexpr std::int64_t kDay = 86400;
  if (key == "zone") {
    w.zone.zone = c.name(v, key);
  } else if (key == "api") {
    w.api = c.endpoint(v, key, kDefaultApiPort);
  } else if (key == "metrics") {
    w.metrics = c.endpoint(v, key, 9153);
  } else if (key == "key") {
    auto bytes = common::parse_hex(c.string(v, key));
    if (!bytes || bytes->size() < kMinKeyBytes) c.fail(&v, "key: expected at least 16 octets of hex");
    w.key = *bytes;
  } else if (key == "key_file") {
    try {
      w.key = read_key_file(c.string(v, key));
    } catch (const ConfigError& e) {
      c.fail(&v, e.what());
    }
  } else if (key == "user") {
    w.user = c.string(v, key);
    if (w.user.empty()) c.fail(&v, "user: name the account to run as (\"root\" to keep root, not recommended)");
  } else if (key == "hostmaster") {
    w.zone.soa_rname = c.name(v, key);
  } else if (key == "answer_ttl" || key == "negative_ttl") {
    (key == "answer_ttl" ? w.zone.answer_ttl : w.zone.negative_ttl) =
        static_cast<std::uint32_t>(c.integer(v, key, 0, kDay));
  } else if (key == "run_ttl") {
    w.limits.run_ttl = std::chrono::seconds(c.integer(v, key, 1, 7 * kDay));
  } else if (key == "max_delay_ms") {
    w.zone.max_delay_ms = static_cast<std::uint32_t>(c.integer(v, key, 0, 60000));
  } else {
    return false;
  }
  return true;
}

// Keys with a count value; returns false if `key` is not one of them.
bool count(const Checker& c, WitnessConfig& w, const std::string& key, const toml::node& v) {
  std::size_t* field = key == "max_runs"                ? &w.limits.max_runs
                       : key == "max_resolvers_per_run" ? &w.limits.max_resolvers_per_run
                       : key == "probes_per_run"        ? &w.probes_per_run
                       : key == "max_pending_delays"    ? &w.max_pending_delays
                       : key == "max_tcp_connections"   ? &w.max_tcp_connections
                                                        : nullptr;
  if (field == nullptr) return false;
  *field = static_cast<std::size_t>(c.integer(v, key, 1, 1'000'000));
  return true;
}

void table(const Checker& c, WitnessConfig& w, const toml::table& t) {
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    if (scalar(c, w, key, v) || count(c, w, key, v)) continue;
    if (key == "listen") {
      w.listen.clear();
      for (const auto* e : c.array(v, key)) w.listen.push_back(c.endpoint(*e, key, 53));
    } else if (key == "answer_a" || key == "answer_aaaa") {
      auto list = c.addresses(v, key);
      for (const auto& a : list) {
        if (!a.is_v4() != (key == "answer_aaaa")) c.fail(&v, key + ": wrong address family");
      }
      (key == "answer_a" ? w.zone.answer_a : w.zone.answer_aaaa) = std::move(list);
    } else if (key == "ns" || key == "ns_v4" || key == "ns_v6") {
      const int family = key == "ns" ? 0 : (key == "ns_v4" ? 4 : 6);
      (key == "ns" ? w.zone.ns : key == "ns_v4" ? w.zone.ns_v4 : w.zone.ns_v6) = ns_set(c, v, key, family);
    } else {
      c.fail(&v, "unknown key \"" + key + "\" in [witness]");
    }
  }
}

WitnessConfig defaults() {
  WitnessConfig w;
  w.api = common::SocketAddress{common::IpAddress::parse("127.0.0.1").value(), kDefaultApiPort};
  w.listen = {common::SocketAddress{common::IpAddress::parse("127.0.0.1").value(), 53}};
  return w;
}

}  // namespace

WitnessConfig parse_config(std::string_view toml_text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  const Checker c(source);
  WitnessConfig w = defaults();
  const toml::node* witness = root.get("witness");
  if (witness == nullptr) throw ConfigError(source + ":1: missing [witness] table");
  if (!witness->is_table()) c.fail(witness, "witness: expected a table");
  table(c, w, *witness->as_table());
  if (w.zone.zone.labels() == 0) c.fail(witness, "zone is required (and cannot be the root)");
  finalize(w, source);
  return w;
}

WitnessConfig load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ":0: cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

WitnessConfig quick_config(const std::string& zone, const std::vector<std::string>& listen, const std::string& api) {
  WitnessConfig w = defaults();
  auto z = dns::Name::from_text(zone);
  if (!z || z->labels() == 0) throw ConfigError("--zone: expected a domain name");
  w.zone.zone = *z;
  if (!listen.empty()) w.listen.clear();
  for (const auto& l : listen) {
    auto e = common::SocketAddress::parse(l, 53);
    if (!e) throw ConfigError("--listen: " + e.error());
    w.listen.push_back(*e);
  }
  if (!api.empty()) {
    auto e = common::SocketAddress::parse(api, kDefaultApiPort);
    if (!e) throw ConfigError("--api: " + e.error());
    w.api = *e;
  }
  finalize(w, "command line");
  return w;
}

std::vector<std::uint8_t> read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("key_file: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  if (auto hex = common::parse_hex(s); hex && hex->size() >= kMinKeyBytes) return *hex;
  if (s.size() >= 2 * kMinKeyBytes) return {s.begin(), s.end()};
  throw ConfigError("key_file: " + path + " holds fewer than 16 octets of hex (or 32 raw octets)");
}

void finalize(WitnessConfig& w, const std::string& source) {
  const auto fail = [&](const std::string& reason) { throw ConfigError(source + ":0: " + reason); };
  if (w.listen.empty()) fail("listen: at least one address is required");
  if (w.zone.ns.empty()) {
    // Quick start: one name server, ns1.<zone>, at the listen addresses that are not wildcards.
    NsHost h{dns::Name::from_text("ns1." + w.zone.zone.to_text()).value(), {}};
    for (const auto& l : w.listen) {
      if (l.ip() != common::IpAddress{} && l.ip() != common::IpAddress::from_v6(in6addr_any))
        h.addresses.push_back(l.ip());
    }
    w.zone.ns.push_back(std::move(h));
  }
  if (w.zone.soa_rname.labels() == 0)
    w.zone.soa_rname = dns::Name::from_text("hostmaster." + w.zone.zone.to_text()).value();
  if (w.probes_per_run > 1000) fail("probes_per_run: at most 1000");
}

}  // namespace dnsfence::witness
