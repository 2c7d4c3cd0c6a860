#include "common/config.hpp"

#include "common/toml_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "common/hex.hpp"
#include "common/probe_report.hpp"

namespace dnsfence::common {
namespace {

// The shared reader's failure, under the name this file has always used.
[[noreturn]] void fail(const std::string& file, const toml::source_region& where, const std::string& reason) {
  fail_at(file, where, reason);
}

auto socket_address(std::uint16_t default_port) {
  return [default_port](std::string_view s) { return SocketAddress::parse(s, default_port); };
}
auto prefix() {
  return [](std::string_view s) { return Prefix::parse(s); };
}

dns::Name read_name(const toml::table& t, TableReader& r, const std::string& path) {
  std::string text;
  r.string("name", text);
  auto n = dns::Name::from_text(text);
  if (text.empty() || !n)
    fail(r.file(), t.source(), path + ".name: " + (text.empty() ? "missing" : std::string(n.error())));
  return *n;
}

void read_names(const toml::array* list, const std::string& file, ServeConfig& serve) {
  if (list == nullptr) return;
  for (const auto& item : *list) {
    const auto& t = *item.as_table();
    TableReader r(t, file, "serve.names");
    NameRule rule{read_name(t, r, "serve.names"), NameAction::NxDomain};
    r.choice("action", rule.action,
             {{"nxdomain", NameAction::NxDomain},
              {"nodata", NameAction::NoData},
              {"refused", NameAction::Refused},
              {"drop", NameAction::Drop}});
    r.reject_unknown();
    serve.names.push_back(rule);
  }
}

void read_destinations(const toml::array* list, const std::string& file, ServeConfig& serve) {
  if (list == nullptr) return;
  for (const auto& item : *list) {
    const auto& t = *item.as_table();
    TableReader r(t, file, "serve.destinations");
    std::vector<Prefix> prefixes;
    r.list("prefixes", prefixes, prefix());
    DestinationAction action = DestinationAction::Redirect;
    r.choice("action", action,
             {{"redirect", DestinationAction::Redirect},
              {"pass", DestinationAction::Pass},
              {"refuse", DestinationAction::Refuse}});
    r.reject_unknown();
    if (prefixes.empty()) fail(file, t.source(), "serve.destinations: 'prefixes' must list at least one prefix");
    for (const auto& p : prefixes) serve.destinations.push_back({p, action});
  }
}

// The reporter's key file: hex (whitespace and # comments allowed), at least
// kMinReporterKeyBytes octets. Relative paths are read from the working directory.
std::vector<std::uint8_t> read_reporter_key(const std::string& file, const toml::source_region& where,
                                            const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(file, where, "serve.witness_key_file: cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto key = parse_hex(text.str());
  if (!key) fail(file, where, "serve.witness_key_file: " + path + ": " + key.error());
  if (key->size() < kMinReporterKeyBytes)
    fail(file, where,
         "serve.witness_key_file: " + path + ": at least " + std::to_string(kMinReporterKeyBytes) +
             " octets of hex are needed");
  return *key;
}

// serve.witness_*: all four of zone, url, reporter and key file, or none.
void read_witness(TableReader& r, const toml::table& t, WitnessReporting& w) {
  std::string zone;
  std::string key_file;
  r.string("witness_zone", zone);
  r.string("witness_url", w.url);
  r.string("witness_reporter", w.reporter);
  r.string("witness_key_file", key_file);
  r.integer("witness_queue", w.queue, 1, 65536);
  r.millis("witness_interval_ms", w.interval, 10'000);
  const bool any = !zone.empty() || !w.url.empty() || !w.reporter.empty() || !key_file.empty();
  if (!any) return;
  auto where = [&](std::string_view key) { return t.get(key) ? t.get(key)->source() : t.source(); };
  if (zone.empty() || w.url.empty() || w.reporter.empty() || key_file.empty())
    fail(r.file(), where("witness_zone"),
         "serve.witness_zone, witness_url, witness_reporter and witness_key_file go together: give all four or none");
  auto name = dns::Name::from_text(zone);
  if (!name || name->labels() == 0)
    fail(r.file(), where("witness_zone"), "serve.witness_zone: not a zone name: '" + zone + "'");
  std::string_view host = w.url;
  if (!host.starts_with("http://"))
    fail(r.file(), where("witness_url"), "serve.witness_url: must be http://ADDRESS[:PORT] (serve speaks no TLS)");
  host.remove_prefix(7);
  while (host.ends_with('/')) host.remove_suffix(1);
  if (auto a = SocketAddress::parse(host, 80); !a)
    fail(r.file(), where("witness_url"), "serve.witness_url: " + a.error());
  if (!valid_reporter_name(w.reporter))
    fail(r.file(), where("witness_reporter"), "serve.witness_reporter: 1 to 64 of A-Z a-z 0-9 . _ -");
  w.key = read_reporter_key(r.file(), where("witness_key_file"), key_file);
  w.zone = *name;
  w.enabled = true;
}

void read_serve(TableReader& r, ServeConfig& s) {
  r.list("listen", s.listen, socket_address(53));
  r.choice("mode", s.mode, {{"redirect", InterceptMode::Redirect}, {"tproxy", InterceptMode::Tproxy}});
  r.list("tproxy_listen", s.tproxy_listen, socket_address(5300));
  r.list("upstreams", s.upstreams, socket_address(53), kMaxUpstreams, true);
  r.integer("workers", s.workers, 0, 256);
  r.integer("max_inflight", s.max_inflight, 1, 1'000'000);
  r.choice("when_full", s.when_full, {{"servfail", WhenFull::ServFail}, {"drop", WhenFull::Drop}});
  r.millis("upstream_timeout_ms", s.upstream_timeout, 60'000);
  r.millis("health_check_interval_ms", s.health_check_interval);
  r.integer("upstream_max_failures", s.upstream_max_failures, 1, 1000);
  r.integer("upstream_rise", s.upstream_rise, 1, 1000);
  r.millis("tcp_idle_timeout_ms", s.tcp_idle_timeout);
  r.millis("tcp_total_timeout_ms", s.tcp_total_timeout);
  r.integer("tcp_max_connections", s.tcp_max_connections, 1, 1'000'000);
  r.integer("tcp_max_connections_per_client", s.tcp_max_connections_per_client, 0, 1'000'000);
  r.integer("tcp_max_inflight_per_connection", s.tcp_max_inflight_per_connection, 1, 65535);
  r.integer("tcp_max_queued_bytes", s.tcp_max_queued_bytes, 65537, 1 << 30);
  r.integer("udp_receive_buffer", s.udp_receive_buffer, 0, 1 << 30);
  r.string("metrics", s.metrics);
  r.nonempty("user", s.user, "name the account to run as (\"root\" to keep root, not recommended)");
  r.boolean("debug_log", s.debug_log);
  if (const auto* c = r.table("canaries")) {
    TableReader cr(*c, r.file(), "serve.canaries");
    cr.boolean("doh", s.canaries.doh);
    cr.boolean("ddr", s.canaries.ddr);
    cr.boolean("icloud_private_relay", s.canaries.icloud_private_relay);
    cr.reject_unknown();
  }
  read_names(r.tables("names"), r.file(), s);
  read_destinations(r.tables("destinations"), r.file(), s);
}

void read_firewall(TableReader& r, FirewallConfig& f) {
  r.choice("profile", f.profile, {{"server", FirewallProfile::Server}, {"client", FirewallProfile::Client}});
  r.choice("mode", f.mode,
           {{"block", FirewallMode::Block}, {"redirect", FirewallMode::Redirect}, {"tproxy", FirewallMode::Tproxy}});
  r.choice("backend", f.backend, {{"nft", FirewallBackend::Nft}, {"iptables", FirewallBackend::Iptables}});
  auto interface = [](std::string_view s) -> std::expected<std::string, std::string> {
    if (auto why = interface_name_problem(s); !why.empty()) return std::unexpected(why);
    return std::string(s);
  };
  r.list("interfaces", f.interfaces, interface, SIZE_MAX, true);
  r.list("sources", f.sources, prefix());
  r.boolean("reject", f.reject);
  r.boolean("block_encrypted", f.block_encrypted);
  r.string("doh_addresses_file", f.doh_addresses_file);
  // Mark 0 would be `ip rule fwmark 0`, which matches every packet: all traffic routed to `local`.
  r.integer("tproxy_mark", f.tproxy_mark, 1, 0xffffffff);
  r.integer("tproxy_table", f.tproxy_table, 1, 0xffffffff);
  if (f.tproxy_table >= 253 && f.tproxy_table <= 255)
    r.fail("tproxy_table", r.name("tproxy_table") +
                               " must be a routing table of its own, not 253 (default), 254 (main) or 255 (local)");
  // "" is "not set" (the packaged example has it): the client profile then says it needs one.
  r.value("tunnel", f.tunnel, [](std::string_view s) -> std::expected<std::string, std::string> {
    if (s.empty()) return std::string();
    if (auto why = interface_name_problem(s); !why.empty()) return std::unexpected(why);
    return std::string(s);
  });
  r.list("resolvers", f.resolvers, [](std::string_view s) { return IpAddress::parse(s); });
}

// Rules that involve more than one key.
void validate(const toml::table& root, Config& c) {
  auto where = [&](std::string_view table) { return root.get(table) ? root.get(table)->source() : root.source(); };
  if (c.serve.upstreams.empty() && root.contains("serve"))
    fail(c.source, where("serve"), "serve.upstreams: at least one upstream resolver is required");
  if (c.serve.mode == InterceptMode::Tproxy && c.serve.tproxy_listen.empty())
    fail(c.source, where("serve"), "serve.mode = \"tproxy\" needs serve.tproxy_listen");
  if (c.firewall.profile == FirewallProfile::Client && (c.firewall.tunnel.empty() || c.firewall.resolvers.empty()))
    fail(c.source, where("firewall"), "firewall.profile = \"client\" needs firewall.tunnel and firewall.resolvers");
}

}  // namespace

std::string interface_name_problem(std::string_view name) {
  std::string quoted = "'";  // printable in a message, whatever it holds
  for (const char c : name.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      quoted += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      quoted.append("\\x").append(1, kHex[u >> 4]).append(1, kHex[u & 15]);
    }
  }
  quoted += name.size() > 40 ? "...'" : "'";
  for (const char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return "interface names may hold only letters, digits, '.', '_' and '-'; not " + quoted;
  }
  if (name.empty() || name.size() > 15) return quoted + " is not an interface name: 1 to 15 characters";
  if (name == "." || name == "..") return quoted + " is not an interface name";
  if (name.front() == '-') return quoted + " is not an interface name: it starts with '-'";
  return "";
}

Config parse_config(std::string_view text, std::string_view source) {
  Config c;
  c.source = std::string(source);
  const toml::table root = parse_toml(text, c.source);
  c.serve.listen = {SocketAddress(IpAddress::parse("127.0.0.1").value(), 53)};
  TableReader top(root, c.source, "");
  if (const auto* t = top.table("serve")) {
    TableReader r(*t, c.source, "serve");
    read_serve(r, c.serve);
    read_witness(r, *t, c.serve.witness);
    r.reject_unknown();
  }
  if (const auto* t = top.table("firewall")) {
    TableReader r(*t, c.source, "firewall");
    read_firewall(r, c.firewall);
    r.reject_unknown();
  }
  if (const auto* t = top.table("allowlist")) {
    TableReader r(*t, c.source, "allowlist");
    r.list("addresses", c.allowlist, prefix());
    r.reject_unknown();
  }
  top.table("witness");  // read by `dnsfence witness`
  top.reject_unknown();
  validate(root, c);
  return c;
}

Config load_config(const std::filesystem::path& path) {
  return parse_config(read_text_file(path.string()), path.string());
}

}  // namespace dnsfence::common
