#include "witness/api.hpp"

#include <ctime>
#include <stdexcept>
#include <thread>

#include "dns/text.hpp"
#include "io/http_server.hpp"

namespace dnsfence::witness {
namespace {

constexpr const char* kJson = "application/json";

io::http::Response error(int status, const std::string& message) {
  return {status, kJson, nlohmann::json{{"error", message}}.dump() + "\n", {}};
}

// Probe numbers: 1.. under the zone, 1001.. under v4.<zone>, 2001.. under v6.<zone> (created_json).
std::string probe_name(const ApiContext& ctx, const RunId& run, std::uint16_t probe) {
  const std::string zone = ctx.zone.zone.to_text();
  const std::string suffix = probe >= 2001 ? "v6." + zone : probe >= 1001 ? "v4." + zone : zone;
  return encode_token(ctx.key, Token{run, probe}) + "." + suffix;
}

nlohmann::json answers_json(const ApiContext& ctx) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : ctx.zone.answer_a) out.push_back(a.to_string());
  for (const auto& a : ctx.zone.answer_aaaa) out.push_back(a.to_string());
  return out;
}

nlohmann::json resolver_json(const ResolverStats& r, const RunId& run, const ApiContext& ctx) {
  nlohmann::json transports = nlohmann::json::array();
  if (r.udp) transports.push_back("udp");
  if (r.tcp) transports.push_back("tcp");
  nlohmann::json types = nlohmann::json::array();
  for (std::size_t i = 0; i < r.type_count; ++i) types.push_back(dns::type_name(r.types[i]));
  nlohmann::json names = nlohmann::json::array();
  for (std::size_t i = 0; i < r.probes.size(); ++i)
    if (r.probes.test(i)) names.push_back(probe_name(ctx, run, static_cast<std::uint16_t>(i)));
  return {{"address", r.address.to_string()},
          {"family", !r.address.is_v4() ? "ipv6" : "ipv4"},
          {"first_seen", iso8601(r.first_seen)},
          {"last_seen", iso8601(r.last_seen)},
          {"count", r.count},
          {"transports", transports},
          {"types", types},
          {"names", names}};
}

void refresh_gauge(const ApiContext& ctx) {
  ctx.store.purge();
  ctx.metrics.runs_active->set(static_cast<std::int64_t>(ctx.store.size()));
}

io::http::Response create_run(const ApiContext& ctx) {
  auto run = ctx.store.create();
  refresh_gauge(ctx);
  if (!run) {
    ctx.metrics.runs_refused->inc();
    return error(503, "too many runs alive; retry later");
  }
  ctx.metrics.runs_created->inc();
  return {201, kJson, created_json(*run, ctx).dump(2) + "\n"};
}

io::http::Response get_run(const ApiContext& ctx, std::string_view text) {
  auto id = RunId::from_text(text);
  if (!id) return error(400, std::string(id.error()));
  auto run = ctx.store.get(*id);
  if (!run) return error(404, "no such run (unknown or expired)");
  return {200, kJson, run_json(*run, ctx).dump(2) + "\n"};
}

// Routes one request; anything else is 404 (405 for a known path with the wrong method).
io::http::Response route(const ApiContext& ctx, Api::Routes routes, const io::http::Request& req) {
  const std::string_view path = std::string_view(req.path).substr(0, req.path.find('?'));
  if (path == "/metrics" || path == "/healthz") {
    if (req.method != "GET") return error(405, "use GET");
    if (path == "/healthz") return {200, "text/plain", "ok\n"};
    refresh_gauge(ctx);
    return {200, "text/plain; version=0.0.4", ctx.registry.expose()};
  }
  if (routes != Api::Routes::All) return error(404, "not found");
  if (path == "/runs") return req.method == "POST" ? create_run(ctx) : error(405, "use POST");
  if (path.starts_with("/runs/") && path.find('/', 6) == std::string_view::npos)
    return req.method == "GET" ? get_run(ctx, path.substr(6)) : error(405, "use GET");
  return error(404, "not found");
}

}  // namespace

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
  for (const auto& r : run.resolvers) resolvers.push_back(resolver_json(r, run.id, ctx));
  return {{"run", run.id.to_text()}, {"created", iso8601(run.created)}, {"expires", iso8601(run.expires)},
          {"dropped", run.dropped},  {"answers", answers_json(ctx)},    {"resolvers", resolvers}};
}

nlohmann::json created_json(const RunSnapshot& run, const ApiContext& ctx) {
  const std::string zone = ctx.zone.zone.to_text();
  auto probes = [&](std::size_t first) {
    nlohmann::json names = nlohmann::json::array();
    for (std::size_t i = 0; i < ctx.probes_per_run; ++i)
      names.push_back(probe_name(ctx, run.id, static_cast<std::uint16_t>(first + i)));
    return names;
  };
  nlohmann::json j = {{"run", run.id.to_text()},
                      {"zone", zone},
                      {"created", iso8601(run.created)},
                      {"expires", iso8601(run.expires)},
                      {"probes", probes(1)},
                      {"behaviours", {"noreply.", "servfail.", "delay-<ms>."}}};
  if (!ctx.zone.ns_v4.empty()) j["probes_v4"] = probes(1001);
  if (!ctx.zone.ns_v6.empty()) j["probes_v6"] = probes(2001);
  j["answers"] = answers_json(ctx);
  return j;
}

struct Api::Impl {
  std::optional<io::http::Server> server;
};

Api::Api(ApiContext ctx, const common::SocketAddress& listen, Routes routes) : impl_(std::make_unique<Impl>()) {
  impl_->server.emplace(listen, io::http::synchronous([ctx, routes](const io::http::Request& req) {
                          try {
                            return route(ctx, routes, req);
                          } catch (const std::exception&) {
                            return error(500, "internal error");
                          }
                        }));
  port_ = impl_->server->port();
}

Api::~Api() {
  stop();
}

void Api::start() {
  impl_->server->start();
}

void Api::stop() {
  impl_->server->stop();
}

}  // namespace dnsfence::witness
