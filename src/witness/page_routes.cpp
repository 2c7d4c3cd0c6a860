#include "witness/page_routes.hpp"

#include <nlohmann/json.hpp>

#include "witness/api.hpp"
#include "witness/page.hpp"

namespace dnsfence::witness {
namespace {

using io::http::Response;

Response json_error(int status, std::string_view message) {
  return {
      status, "application/json", nlohmann::json{{"error", message}}.dump() + "\n", {{"Cache-Control", "no-store"}}};
}

std::vector<io::http::Header> headers(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<io::http::Header> out;
  out.reserve(pairs.size());
  for (const auto& [k, v] : pairs) out.push_back({k, v});
  return out;
}

// A fetch of http://<probe>.<zone>/...: the browser resolved the probe name (the DNS side recorded
// who asked). The answer names the host, so the page can tell this witness from another server a
// forged DNS answer led it to.
Response probe_fetch(const PageContext& ctx, const io::http::Request& req) {
  Response r;
  if (req.method == "OPTIONS") {
    r = Response{
        204, "", "", {{"Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"}, {"Access-Control-Max-Age", "600"}}};
  } else if (req.method != "GET" && req.method != "HEAD") {
    r = json_error(405, "use GET");
  } else if (!probe_token(ctx.keys, ctx.zone.zone, req.host)) {
    r = json_error(404, "not a probe name of this test");
  } else {
    r = Response{200, "application/json", nlohmann::json{{"probe", req.host}}.dump() + "\n"};
  }
  for (auto& h : headers(probe_headers())) r.headers.push_back(std::move(h));
  return r;
}

void reports(const PageContext& ctx, const io::http::Request& req, const io::http::Reply& reply) {
  if (req.method != "POST") return reply(json_error(405, "use POST"));
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.clock.now().time_since_epoch()).count();
  auto batch = accept_batch(ctx.reporters, ctx.keys, ctx.zone.zone, req.query, req.body, req.peer.ip(), now_ms);
  if (!batch) return reply(json_error(batch.error() == BatchError::Malformed ? 400 : 403, describe(batch.error())));
  const std::size_t offered = batch->accepted.size();
  const std::size_t not_probes = batch->dropped;
  ctx.store.add_reports(observations(std::move(batch->accepted)), [reply, offered, not_probes](std::size_t kept) {
    reply(Response{
        200, "application/json",
        nlohmann::json{{"kept", kept}, {"unknown_run", offered - kept}, {"not_probe_names", not_probes}}.dump() +
            "\n"});
  });
}

}  // namespace

std::vector<ReportObservation> observations(std::vector<AcceptedReport> accepted) {
  std::vector<ReportObservation> out;
  out.reserve(accepted.size());
  for (auto& a : accepted) out.push_back({a.token.run, a.token.probe, std::move(a.reporter), std::move(a.report)});
  return out;
}

bool page_route(const PageContext& ctx, const io::http::Request& req, const io::http::Reply& reply) {
  try {
    if (!req.host.empty() && is_probe_host(req.host, ctx.zone)) return reply(probe_fetch(ctx, req)), true;
    if (req.path == "/reports") return reports(ctx, req, reply), true;
    // Browsers ask for it unprompted; an empty answer keeps a 404 out of the page's console.
    if (req.path == "/favicon.ico") return reply(Response{204, "", "", {{"Cache-Control", "max-age=86400"}}}), true;
    const PageAsset* a = find_page_asset(req.path);
    if (a == nullptr) return false;
    if (req.method != "GET" && req.method != "HEAD") return reply(json_error(405, "use GET")), true;
    reply(Response(200, std::string(a->content_type), std::string(a->body),
                   headers(page_headers(ctx.zone.zone.to_text()))));
    return true;
  } catch (const std::exception&) {
    reply(json_error(500, "internal error"));
    return true;
  }
}

}  // namespace dnsfence::witness
