// The JSON the witness's public API speaks (api.hpp): requests it reads, runs it writes.
#include <algorithm>
#include <cctype>
#include <ctime>

#include "dns/text.hpp"
#include "witness/api.hpp"

namespace dnsfence::witness {
namespace {

// Probe numbers: 1.. under the zone, 1001.. under v4.<zone>, 2001.. under v6.<zone>.
constexpr std::uint16_t kFirstV4 = 1001;
constexpr std::uint16_t kFirstV6 = 2001;

TimePoint from_unix_ms(std::int64_t ms) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

std::uint32_t expiry_seconds(TimePoint t) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

// The probe name of `probe` in `run`, minted by the key that minted the run's names (still the
// same after a rotation); empty if that key is no longer accepted.
std::string probe_name(const ApiContext& ctx, const RunSnapshot& run, std::uint16_t probe) {
  const Key* key = ctx.keys.find(run.key_id);
  if (key == nullptr) return {};
  const std::string zone = ctx.zone.zone.to_text();
  const std::string suffix = probe >= kFirstV6 ? "v6." + zone : probe >= kFirstV4 ? "v4." + zone : zone;
  return encode_token(*key, Token{run.id, probe, expiry_seconds(run.expires)}) + "." + suffix;
}

nlohmann::json answers_json(const ApiContext& ctx) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : ctx.zone.answer_a) out.push_back(a.to_string());
  for (const auto& a : ctx.zone.answer_aaaa) out.push_back(a.to_string());
  return out;
}

// "vpn" with the operator's name for an address in a declared role, else "other".
void role_json(nlohmann::json& j, const common::IpAddress& a, const ApiContext& ctx, bool provider = false) {
  const ResolverRole* role = role_of(ctx.roles, a);
  j["role"] = role != nullptr || provider ? "vpn" : "other";
  if (role != nullptr) j["operator"] = role->name;
}

nlohmann::json names_json(const std::bitset<kProbeNumbers>& probes, const RunSnapshot& run, const ApiContext& ctx);

nlohmann::json report_json(const ReportStats& r, const RunSnapshot& run, const ApiContext& ctx) {
  nlohmann::json transports = nlohmann::json::array();
  if (r.udp) transports.push_back("udp");
  if (r.tcp) transports.push_back("tcp");
  nlohmann::json j = {{"destination", r.destination.to_string()},
                      {"family", !r.destination.is_v4() ? "ipv6" : "ipv4"},
                      {"class", r.destination_class},
                      {"transport", r.tcp && !r.udp ? "tcp" : "udp"},
                      {"transports", transports},
                      {"action", r.action},
                      {"reporter", r.reporter},
                      {"first_seen", iso8601(from_unix_ms(r.first_ms))},
                      {"last_seen", iso8601(from_unix_ms(r.last_ms))},
                      {"count", r.count},
                      {"names", names_json(r.probes, run, ctx)}};
  // A lookup sent to the provider's own resolver (serve's "provider" class) is the VPN's too.
  role_json(j, r.destination, ctx, r.destination_class == "provider");
  return j;
}

nlohmann::json names_json(const std::bitset<kProbeNumbers>& probes, const RunSnapshot& run, const ApiContext& ctx) {
  nlohmann::json names = nlohmann::json::array();
  for (std::size_t i = 0; i < probes.size(); ++i) {
    if (!probes.test(i)) continue;
    if (auto name = probe_name(ctx, run, static_cast<std::uint16_t>(i)); !name.empty()) names.push_back(name);
  }
  return names;
}

nlohmann::json resolver_json(const ResolverStats& r, const RunSnapshot& run, const ApiContext& ctx) {
  nlohmann::json transports = nlohmann::json::array();
  if (r.udp) transports.push_back("udp");
  if (r.tcp) transports.push_back("tcp");
  nlohmann::json types = nlohmann::json::array();
  for (std::size_t i = 0; i < r.type_count; ++i) types.push_back(dns::type_name(r.types[i]));
  nlohmann::json names = nlohmann::json::array();
  for (std::size_t i = 0; i < r.probes.size(); ++i) {
    if (!r.probes.test(i)) continue;
    if (auto name = probe_name(ctx, run, static_cast<std::uint16_t>(i)); !name.empty()) names.push_back(name);
  }
  nlohmann::json j = {{"address", r.address.to_string()},
                      {"family", !r.address.is_v4() ? "ipv6" : "ipv4"},
                      {"first_seen", iso8601(r.first_seen)},
                      {"last_seen", iso8601(r.last_seen)},
                      {"count", r.count},
                      {"transports", transports},
                      {"types", types},
                      {"names", names}};
  role_json(j, r.address, ctx);
  return j;
}

}  // namespace

std::expected<std::size_t, std::string> requested_count(std::string_view body, const RunPolicy& policy) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return policy.default_probes;
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::unexpected("the body must be a JSON object, e.g. {\"count\": 9}");
  if (!j.contains("count")) return policy.default_probes;
  const auto& c = j["count"];
  if (!c.is_number_integer() || c.get<std::int64_t>() < 1)
    return std::unexpected("count must be a whole number of probe names, at least 1");
  if (c.get<std::uint64_t>() > policy.max_probes)
    return std::unexpected("count: this witness hands out at most " + std::to_string(policy.max_probes) +
                           " probe names per run (max_probes_per_run)");
  return static_cast<std::size_t>(c.get<std::uint64_t>());
}

std::string iso8601(TimePoint t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::array<char, 40> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  std::array<char, 8> frac{};
  std::snprintf(frac.data(), frac.size(), ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(buf.data(), n) + frac.data();
}

nlohmann::json run_json(const RunSnapshot& run, const ApiContext& ctx) {
  nlohmann::json resolvers = nlohmann::json::array();
  for (const auto& r : run.resolvers) resolvers.push_back(resolver_json(r, run, ctx));
  nlohmann::json reports = nlohmann::json::array();
  for (const auto& r : run.reports) reports.push_back(report_json(r, run, ctx));
  return {{"run", run.key.to_text()},
          {"created", iso8601(run.created)},
          {"expires", iso8601(run.expires)},
          {"probes", run.probes},
          {"dropped", run.dropped},
          {"lost", run.lost},
          {"incomplete", run.incomplete},
          {"answers", answers_json(ctx)},
          {"resolvers", resolvers},
          {"reports", reports},
          {"reports_dropped", run.reports_dropped},
          {"reporters", ctx.reporters.size()},
          {"now", iso8601(ctx.clock.now())}};
}

nlohmann::json created_json(const RunSnapshot& run, const ApiContext& ctx) {
  // The v4/v6 children only test reachability over one family: a few names are enough.
  const std::size_t family_probes = std::min<std::size_t>(run.probes, ctx.policy.default_probes);
  auto probes = [&](std::uint16_t first, std::size_t count) {
    nlohmann::json names = nlohmann::json::array();
    for (std::size_t i = 0; i < count; ++i)
      names.push_back(probe_name(ctx, run, static_cast<std::uint16_t>(first + i)));
    return names;
  };
  nlohmann::json j = {{"run", run.key.to_text()},        {"zone", ctx.zone.zone.to_text()},
                      {"created", iso8601(run.created)}, {"expires", iso8601(run.expires)},
                      {"probes", probes(1, run.probes)}, {"behaviours", {"noreply.", "servfail.", "delay-<ms>."}}};
  if (!ctx.zone.ns_v4.empty()) j["probes_v4"] = probes(kFirstV4, family_probes);
  if (!ctx.zone.ns_v6.empty()) j["probes_v6"] = probes(kFirstV6, family_probes);
  j["answers"] = answers_json(ctx);
  // Milliseconds, unlike "created" (whole seconds, as the tokens carry it): the browser page
  // matches its clock to the witness's with it.
  j["now"] = iso8601(ctx.clock.now());
  return j;
}

bool is_probe_host(std::string_view host, const ZoneConfig& zone) {
  std::string suffix(1, '.');  // appended: "." + a temporary is g++ 12's false -Wrestrict at -O3
  suffix += zone.zone.to_text();
  if (suffix.ends_with('.')) suffix.pop_back();
  while (host.ends_with('.')) host.remove_suffix(1);
  if (host.size() <= suffix.size() || !host.ends_with(suffix)) return false;
  // Zone names compare case-insensitively; the Host header is already lowercase.
  return std::ranges::equal(suffix, host.substr(host.size() - suffix.size()),
                            [](unsigned char a, unsigned char b) { return std::tolower(a) == std::tolower(b); });
}

}  // namespace dnsfence::witness
