#include "witness/config.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/hex.hpp"
#include "common/probe_report.hpp"
#include "common/toml_reader.hpp"
#include "witness/redis_store.hpp"

namespace dnsfence::witness {
namespace {

using common::TableReader;
constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kMillion = 1'000'000;
constexpr std::string_view kCredential = "credential:";

auto endpoint(std::uint16_t port) {
  return [port](std::string_view s) { return common::SocketAddress::parse(s, port); };
}

auto domain_name() {
  return [](std::string_view s) -> std::expected<dns::Name, std::string> {
    auto n = dns::Name::from_text(s);
    if (!n) return std::unexpected(std::string(n.error()));
    return *n;
  };
}

// An address of one family (4 or 6), or of either (0).
auto address(int family = 0) {
  return [family](std::string_view s) -> std::expected<common::IpAddress, std::string> {
    auto a = common::IpAddress::parse(s);
    if (a && family != 0 && a->is_v4() != (family == 4))
      return std::unexpected("only IPv" + std::to_string(family) + " addresses belong here, not '" + std::string(s) +
                             "'");
    return a;
  };
}

std::vector<NsHost> ns_set(TableReader& r, std::string_view key, int family) {
  std::vector<NsHost> out;
  const toml::array* list = r.tables(key);
  if (list == nullptr) return out;
  for (const auto& item : *list) {
    TableReader h(*item.as_table(), r.file(), r.name(key));
    NsHost host;
    std::string text;
    if (!h.string("name", text)) common::fail_at(r.file(), item.source(), r.name(key) + ".name is required");
    h.value("name", host.name, domain_name());
    h.list("addresses", host.addresses, address(family));
    h.reject_unknown();
    out.push_back(std::move(host));
  }
  return out;
}

// [[witness.resolvers]]: name, prefixes (at least one).
std::vector<ResolverRole> roles(TableReader& r) {
  std::vector<ResolverRole> out;
  const toml::array* list = r.tables("resolvers");
  if (list == nullptr) return out;
  for (const auto& item : *list) {
    TableReader t(*item.as_table(), r.file(), r.name("resolvers"));
    ResolverRole role;
    if (!t.string("name", role.name) || role.name.empty())
      common::fail_at(r.file(), item.source(), r.name("resolvers") + ".name is required");
    t.list("prefixes", role.prefixes, [](std::string_view s) { return common::Prefix::parse(s); });
    if (role.prefixes.empty())
      common::fail_at(r.file(), item.source(), r.name("resolvers") + ".prefixes must list at least one prefix");
    t.reject_unknown();
    out.push_back(std::move(role));
  }
  return out;
}

// [[witness.reporters]]: name, key_file (or key), sources (optional).
std::vector<ReporterConfig> reporters(TableReader& r) {
  std::vector<ReporterConfig> out;
  const toml::array* list = r.tables("reporters");
  if (list == nullptr) return out;
  for (const auto& item : *list) {
    TableReader t(*item.as_table(), r.file(), r.name("reporters"));
    ReporterConfig rep;
    std::string key;
    std::string file;
    if (!t.string("name", rep.name) || !common::valid_reporter_name(rep.name))
      common::fail_at(r.file(), item.source(), r.name("reporters") + ".name: 1 to 64 of A-Z a-z 0-9 . _ -");
    if (std::any_of(out.begin(), out.end(), [&](const auto& o) { return o.name == rep.name; }))
      common::fail_at(r.file(), item.source(), r.name("reporters") + ": '" + rep.name + "' is listed twice");
    if (t.string("key", key)) {
      auto bytes = common::parse_hex(key);
      if (!bytes || bytes->size() < common::kMinReporterKeyBytes)
        t.fail("key", t.name("key") + ": expected at least 16 octets of hex");
      rep.key = *bytes;
    }
    if (t.string("key_file", file)) {
      try {
        rep.key = read_key_file(file);
      } catch (const ConfigError& e) {
        t.fail("key_file", t.name("key_file") + ": " + e.what());
      }
    }
    if (rep.key.empty()) common::fail_at(r.file(), item.source(), r.name("reporters") + ": give key_file or key");
    t.list("sources", rep.sources, [](std::string_view s) { return common::Prefix::parse(s); });
    t.reject_unknown();
    out.push_back(std::move(rep));
  }
  return out;
}

void read_keys(TableReader& r, WitnessConfig& w) {
  std::string text;
  if (r.string("key", text)) {
    auto bytes = common::parse_hex(text);
    if (!bytes || bytes->size() < kMinKeyBytes) r.fail("key", r.name("key") + ": expected at least 16 octets of hex");
    w.key = *bytes;
  }
  std::string file;
  if (r.string("key_file", file)) {
    if (!text.empty()) r.fail("key_file", r.name("key_file") + ": give key or key_file, not both");
    try {
      w.key = read_key_file(file);
    } catch (const ConfigError& e) {
      r.fail("key_file", r.name("key_file") + ": " + e.what());
    }
  }
  std::vector<std::string> files;
  r.list("accepted_key_files", files,
         [](std::string_view s) -> std::expected<std::string, std::string> { return std::string(s); });
  for (const auto& f : files) {
    try {
      w.accepted_keys.push_back(read_key_file(f));
    } catch (const ConfigError& e) {
      r.fail("accepted_key_files", r.name("accepted_key_files") + ": " + e.what());
    }
  }
}

void read_limits(TableReader& r, WitnessConfig& w) {
  r.integer("answer_ttl", w.zone.answer_ttl, 0, kDay);
  r.integer("negative_ttl", w.zone.negative_ttl, 0, kDay);
  r.seconds("run_ttl", w.limits.run_ttl, 1, 7 * kDay);
  r.integer("max_delay_ms", w.zone.max_delay_ms, 0, 60000);
  r.integer("max_runs", w.limits.max_runs, 1, kMillion);
  r.integer("max_resolvers_per_run", w.limits.max_resolvers_per_run, 1, kMillion);
  r.integer("probes_per_run", w.probes_per_run, 1, 1000);
  r.integer("max_probes_per_run", w.max_probes_per_run, 1, 1000);
  r.integer("max_pending_delays", w.max_pending_delays, 1, kMillion);
  r.integer("max_tcp_connections", w.max_tcp_connections, 1, kMillion);
  r.integer("store_buffer", w.store_buffer, 0, 100 * kMillion);
  r.integer("runs_per_minute", w.run_rate.per_minute, 0, kMillion);
  r.integer("run_burst", w.run_rate.burst, 1, kMillion);
  r.integer("rrl_rate", w.rrl.rate, 0, kMillion);
  r.integer("rrl_slip", w.rrl.slip, 0, 100);
  r.list("rrl_exempt", w.rrl.exempt, [](std::string_view s) { return common::Prefix::parse(s); });
  r.integer("http_max_connections", w.http.max_connections, 1, kMillion);
  r.integer("http_max_connections_per_client", w.http.max_connections_per_client, 1, kMillion);
}

void read_listeners(TableReader& r, WitnessConfig& w) {
  r.list("listen", w.listen, endpoint(53));
  r.value("api", w.api, endpoint(kDefaultApiPort));
  for (const char* key : {"operator", "metrics"}) {  // "metrics": its name before the split
    common::SocketAddress a;
    if (r.raw().contains(key) && w.operator_api) r.fail(key, r.name(key) + ": give operator or metrics, not both");
    r.value(key, a, endpoint(kDefaultOperatorPort));
    if (r.raw().contains(key)) w.operator_api = a;
  }
  if (r.string("store", w.store) && w.store != "memory") {
    if (auto e = parse_redis_endpoint(w.store); !e) r.fail("store", r.name("store") + ": " + e.error());
  }
  std::string password_file;
  if (r.string("store_password_file", password_file)) {
    try {
      w.store_password = read_secret_file(password_file);
    } catch (const ConfigError& e) {
      r.fail("store_password_file", r.name("store_password_file") + ": " + e.what());
    }
    while (!w.store_password.empty() && (w.store_password.back() == '\n' || w.store_password.back() == '\r'))
      w.store_password.pop_back();
    if (w.store_password.empty()) r.fail("store_password_file", r.name("store_password_file") + ": the file is empty");
  }
}

// Rules that involve more than one key, checked for a file and the command line alike; `fail`
// reports at the key concerned.
template <typename Fail>
void finalize(WitnessConfig& w, Fail fail) {
  if (w.zone.zone.labels() == 0) fail("zone", "witness.zone is required (and cannot be the root)");
  if (w.listen.empty()) fail("listen", "witness.listen: at least one address is required");
  if (w.probes_per_run > w.max_probes_per_run)
    fail("probes_per_run",
         "witness.probes_per_run: more than max_probes_per_run (" + std::to_string(w.max_probes_per_run) + ")");
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
  w.zone.run_ttl = w.limits.run_ttl;
}

WitnessConfig defaults() {
  WitnessConfig w;
  w.api = common::SocketAddress{common::IpAddress::parse("127.0.0.1").value(), kDefaultApiPort};
  w.listen = {common::SocketAddress{common::IpAddress::parse("127.0.0.1").value(), 53}};
  return w;
}

std::string credential_path(std::string_view name) {
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0')
    throw ConfigError("'" + std::string(kCredential) + std::string(name) +
                      "' needs $CREDENTIALS_DIRECTORY (systemd's LoadCredential=), which is not set");
  if (name.empty() || name.find('/') != std::string_view::npos)
    throw ConfigError("a credential name is a file name, not '" + std::string(name) + "'");
  return std::string(dir) + "/" + std::string(name);
}

}  // namespace

WitnessConfig parse_config(std::string_view toml_text, const std::string& source) {
  const toml::table root = common::parse_toml(toml_text, source);
  TableReader top(root, source, "");
  const toml::table* table = top.table("witness");
  if (table == nullptr) throw ConfigError(source + ":1:1: missing [witness] table");
  WitnessConfig w = defaults();
  TableReader r(*table, source, "witness");
  r.value("zone", w.zone.zone, domain_name());
  read_listeners(r, w);
  read_keys(r, w);
  r.nonempty("user", w.user, "name the account to run as (\"root\" to keep root, not recommended)");
  r.value("hostmaster", w.zone.soa_rname, domain_name());
  r.list("answer_a", w.zone.answer_a, address(4));
  r.list("answer_aaaa", w.zone.answer_aaaa, address(6));
  read_limits(r, w);
  w.zone.ns = ns_set(r, "ns", 0);
  w.zone.ns_v4 = ns_set(r, "ns_v4", 4);
  w.zone.ns_v6 = ns_set(r, "ns_v6", 6);
  w.roles = roles(r);
  w.reporters = reporters(r);
  r.reject_unknown();
  finalize(w, [&](std::string_view key, const std::string& reason) { r.fail(key, reason); });
  return w;
}

WitnessConfig load_config(const std::string& path) {
  return parse_config(common::read_text_file(path), path);
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
  finalize(w, [](std::string_view key, const std::string& reason) {
    throw ConfigError("command line: --" + std::string(key) + ": " + reason);
  });
  return w;
}

std::string read_secret_file(const std::string& spec) {
  const std::string path =
      spec.starts_with(kCredential) ? credential_path(std::string_view(spec).substr(kCredential.size())) : spec;
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw ConfigError("cannot read " + path + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    std::array<char, 8> mode{};
    std::snprintf(mode.data(), mode.size(), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw ConfigError(path + " is open to group or others (mode " + mode.data() +
                      "): anyone who reads it gets the secret; chmod 600 it, or use LoadCredential=");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::uint8_t> read_key_file(const std::string& spec) {
  const std::string s = read_secret_file(spec);
  if (auto hex = common::parse_hex(s); hex && hex->size() >= kMinKeyBytes) return *hex;
  if (s.size() >= 2 * kMinKeyBytes) return {s.begin(), s.end()};
  throw ConfigError(spec + " holds fewer than 16 octets of hex (or 32 raw octets)");
}

}  // namespace dnsfence::witness
