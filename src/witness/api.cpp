#include "witness/api.hpp"

#include <httplib.h>

#include <ctime>
#include <stdexcept>
#include <thread>

#include "dns/text.hpp"

namespace dnsfence::witness {
namespace {

constexpr const char* kJson = "application/json";

void error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump() + "\n", kJson);
}

// Probe numbers: 1.. under the zone, 1001.. under v4.<zone>, 2001.. under v6.<zone> (created_json).
std::string probe_name(const ApiContext& ctx, const RunId& run, std::uint16_t probe) {
  const std::string zone = ctx.zone.zone.to_text();
  const std::string suffix = probe >= 2001 ? "v6." + zone : probe >= 1001 ? "v4." + zone : zone;
  return encode_token(ctx.key, Token{run, probe}) + "." + suffix;
}

nlohmann::json answers_json(const ApiContext& ctx) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : ctx.zone.answer_a) out.push_back(a.to_text());
  for (const auto& a : ctx.zone.answer_aaaa) out.push_back(a.to_text());
  return out;
}

nlohmann::json resolver_json(const ResolverStats& r, const RunId& run, const ApiContext& ctx) {
  nlohmann::json transports = nlohmann::json::array();
  if (r.udp) transports.push_back("udp");
  if (r.tcp) transports.push_back("tcp");
  nlohmann::json types = nlohmann::json::array();
  for (std::size_t i = 0; i < r.type_count; ++i) types.push_back(dns::type_name(r.types[i]));
  nlohmann::json names = nlohmann::json::array();
  for (std::size_t i = 0; i < r.probe_count; ++i) names.push_back(probe_name(ctx, run, r.probes[i]));
  return {{"address", r.address.to_text()},
          {"family", r.address.v6 ? "ipv6" : "ipv4"},
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

void create_run(const ApiContext& ctx, httplib::Response& res) {
  auto run = ctx.store.create();
  refresh_gauge(ctx);
  if (!run) {
    ctx.metrics.runs_refused->inc();
    error(res, 503, "too many runs alive; retry later");
    return;
  }
  ctx.metrics.runs_created->inc();
  res.status = 201;
  res.set_content(created_json(*run, ctx).dump(2) + "\n", kJson);
}

void get_run(const ApiContext& ctx, const std::string& text, httplib::Response& res) {
  auto id = RunId::from_text(text);
  if (!id) {
    error(res, 400, std::string(id.error()));
    return;
  }
  auto run = ctx.store.get(*id);
  if (!run) {
    error(res, 404, "no such run (unknown or expired)");
    return;
  }
  res.set_content(run_json(*run, ctx).dump(2) + "\n", kJson);
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
  httplib::Server server;
  std::thread thread;
};

Api::Api(ApiContext ctx, const Endpoint& listen, Routes routes) : impl_(std::make_unique<Impl>()) {
  auto& s = impl_->server;
  s.Get("/metrics", [ctx](const httplib::Request&, httplib::Response& res) {
    refresh_gauge(ctx);
    res.set_content(ctx.registry.expose(), "text/plain; version=0.0.4");
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  if (routes == Routes::All) {
    s.Post("/runs", [ctx](const httplib::Request&, httplib::Response& res) { create_run(ctx, res); });
    s.Get(R"(/runs/([^/]+))",
          [ctx](const httplib::Request& req, httplib::Response& res) { get_run(ctx, req.matches[1].str(), res); });
  }
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
    error(res, 500, "internal error");
  });
  const std::string host = listen.address.to_text();
  if (listen.port == 0) {
    const int port = s.bind_to_any_port(host);
    if (port <= 0) throw std::runtime_error("cannot bind the API to " + listen.to_text());
    port_ = static_cast<std::uint16_t>(port);
  } else {
    if (!s.bind_to_port(host, listen.port)) throw std::runtime_error("cannot bind the API to " + listen.to_text());
    port_ = listen.port;
  }
}

Api::~Api() {
  stop();
}

void Api::start() {
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
}

void Api::stop() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace dnsfence::witness
