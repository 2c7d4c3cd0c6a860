#include "witness/api.hpp"

#include <stdexcept>

#include "witness/page_routes.hpp"

namespace dnsfence::witness {
namespace {

using io::http::Reply;
using io::http::Request;
using io::http::Response;
constexpr const char* kJson = "application/json";

Response error(int status, std::string_view message) {
  return {status, kJson, nlohmann::json{{"error", message}}.dump() + "\n", {{"Cache-Control", "no-store"}}};
}

Response json(int status, const nlohmann::json& body) {
  return {status, kJson, body.dump(2) + "\n", {{"Cache-Control", "no-store"}}};
}

// One store failure as the client sees it.
Response store_error(const ApiContext& ctx, StoreError e) {
  if (e == StoreError::NotFound) return error(404, describe(e));
  if (e == StoreError::Full) {
    ctx.metrics.runs_refused->inc();
  } else {
    ctx.api_metrics.runs_unavailable->inc();
  }
  Response r = error(503, describe(e));
  r.headers.push_back({"Retry-After", "5"});
  return r;
}

void create_run(const ApiContext& ctx, const Request& req, const Reply& reply) {
  if (ctx.run_limiter != nullptr) {
    if (auto wait = ctx.run_limiter->acquire(req.peer.ip(), std::chrono::steady_clock::now())) {
      ctx.api_metrics.runs_rate_limited->inc();
      Response r = error(429, "too many runs from your network; retry later");
      r.headers.push_back({"Retry-After", std::to_string((wait->count() + 999) / 1000)});
      return reply(std::move(r));
    }
  }
  const auto count = requested_count(req.body, ctx.policy);
  if (!count) return reply(error(400, count.error()));
  RunSnapshot run;
  run.key = RunKey::random();
  run.id = run.key.id();
  run.key_id = ctx.keys.minting().id();
  run.probes = static_cast<std::uint16_t>(*count);
  // Whole seconds: the expiry every probe token carries is exactly the run's.
  run.created = std::chrono::floor<std::chrono::seconds>(ctx.clock.now());
  run.expires = run.created + ctx.policy.run_ttl;
  ctx.store.create(run, [ctx, run, reply](std::expected<void, StoreError> done) {
    if (!done) return reply(store_error(ctx, done.error()));
    ctx.metrics.runs_created->inc();
    reply(json(201, created_json(run, ctx)));
  });
}

void get_run(const ApiContext& ctx, std::string_view text, const Reply& reply) {
  auto key = RunKey::from_text(text);
  if (!key) return reply(error(400, key.error()));
  ctx.store.get(*key, [ctx, reply](std::expected<RunSnapshot, StoreError> run) {
    if (!run) return reply(store_error(ctx, run.error()));
    reply(json(200, run_json(*run, ctx)));
  });
}

void route_public(const ApiContext& ctx, const Request& req, const Reply& reply) {
  const PageContext page{ctx.keys, ctx.zone, ctx.reporters, ctx.store, ctx.clock};
  if (page_route(page, req, reply)) return;
  const std::string_view path = req.path;
  if (path == "/healthz")
    return reply(req.method == "GET" ? Response{200, "text/plain", "ok\n"} : error(405, "use GET"));
  if (path == "/runs") return req.method == "POST" ? create_run(ctx, req, reply) : reply(error(405, "use POST"));
  if (path.starts_with("/runs/") && path.find('/', 6) == std::string_view::npos)
    return req.method == "GET" ? get_run(ctx, path.substr(6), reply) : reply(error(405, "use GET"));
  reply(error(404, "not found"));
}

nlohmann::json status_json(const StoreStatus& s, const io::http::ServerStats* http) {
  nlohmann::json j = {{"store",
                       {{"kind", s.kind},
                        {"connected", s.connected},
                        {"buffered", s.buffered},
                        {"written", s.written},
                        {"overflowed", s.overflowed}}}};
  if (s.runs >= 0) j["store"]["runs"] = s.runs;
  if (!s.error.empty()) j["store"]["error"] = s.error;
  if (http != nullptr)
    j["public_http"] = {{"open", http->open.load()},
                        {"accepted", http->accepted.load()},
                        {"refused", http->refused.load()},
                        {"evicted", http->evicted.load()},
                        {"timed_out", http->timed_out.load()}};
  return j;
}

}  // namespace

ApiMetrics::ApiMetrics(common::Registry& r) {
  runs_rate_limited = &r.counter("dnsfence_witness_runs_rate_limited_total",
                                 "Run creations refused (429): the client's prefix created runs too fast");
  runs_unavailable =
      &r.counter("dnsfence_witness_runs_unavailable_total", "API calls refused (503): the store was unreachable");
  store_connected = &r.gauge("dnsfence_witness_store_connected", "1 if the store is reachable (memory: always)");
  store_buffered = &r.gauge("dnsfence_witness_store_buffered", "Observations waiting to be written to the store");
  store_written = &r.gauge("dnsfence_witness_store_written", "Observations written to the shared store since start");
  store_overflowed = &r.gauge("dnsfence_witness_store_overflowed",
                              "Observations lost since start because the buffer was full (runs marked incomplete)");
  http_open = &r.gauge("dnsfence_witness_http_connections", "Public HTTP connections open");
  http_refused = &r.gauge("dnsfence_witness_http_refused", "Public HTTP connections refused at the caps since start");
  http_evicted = &r.gauge("dnsfence_witness_http_evicted", "Waiting public HTTP connections closed to make room");
  http_timed_out = &r.gauge("dnsfence_witness_http_timed_out", "Public HTTP connections cut off by a deadline");
}

struct Api::Impl {
  ApiContext ctx;
  Role role;
  const io::http::ServerStats* public_stats = nullptr;  // the operator's view of the public listener
  std::unique_ptr<io::http::Server> server;

  void refresh() const {
    if (public_stats != nullptr) {
      ctx.api_metrics.http_open->set(public_stats->open.load());
      ctx.api_metrics.http_refused->set(static_cast<std::int64_t>(public_stats->refused.load()));
      ctx.api_metrics.http_evicted->set(static_cast<std::int64_t>(public_stats->evicted.load()));
      ctx.api_metrics.http_timed_out->set(static_cast<std::int64_t>(public_stats->timed_out.load()));
    }
    const StoreStatus s = ctx.store.status();
    if (s.runs >= 0) ctx.metrics.runs_active->set(s.runs);
    ctx.api_metrics.store_connected->set(s.connected ? 1 : 0);
    ctx.api_metrics.store_buffered->set(static_cast<std::int64_t>(s.buffered));
    ctx.api_metrics.store_written->set(static_cast<std::int64_t>(s.written));
    ctx.api_metrics.store_overflowed->set(static_cast<std::int64_t>(s.overflowed));
  }
  void route_operator(const Request& req, const Reply& reply) const {
    if (req.method != "GET") return reply(error(405, "use GET"));
    if (req.path == "/healthz") return reply(Response{200, "text/plain", "ok\n"});
    if (req.path == "/metrics") {
      refresh();
      return reply(Response{200, "text/plain; version=0.0.4", ctx.registry.expose()});
    }
    if (req.path == "/status") return reply(json(200, status_json(ctx.store.status(), public_stats)));
    reply(error(404, "not found"));
  }
};

Api::Api(ApiContext ctx, const common::SocketAddress& listen, Role role, io::http::ServerLimits limits)
    : impl_(std::make_unique<Impl>(Impl{ctx, role, nullptr, nullptr})) {
  Impl& impl = *impl_;
  impl.server = std::make_unique<io::http::Server>(
      listen,
      [&impl](const Request& req, const Reply& reply) {
        try {
          if (impl.role == Role::Public) return route_public(impl.ctx, req, reply);
          impl.route_operator(req, reply);
        } catch (const std::exception&) {
          reply(error(500, "internal error"));
        }
      },
      limits);
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

std::uint16_t Api::port() const noexcept {
  return impl_->server->port();
}

const io::http::ServerStats& Api::stats() const noexcept {
  return impl_->server->stats();
}

void Api::observe(const Api& public_api) noexcept {
  impl_->public_stats = &public_api.stats();
}

}  // namespace dnsfence::witness
