#include "witness/page_routes.hpp"

#include <nlohmann/json.hpp>

#include "witness/page.hpp"

namespace dnsfence::witness {
namespace {

io::http::Response json_error(int status, std::string_view message) {
  return {status, "application/json", nlohmann::json{{"error", message}}.dump() + "\n"};
}

std::vector<io::http::Header> headers(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<io::http::Header> out;
  out.reserve(pairs.size());
  for (const auto& [k, v] : pairs) out.push_back({k, v});
  return out;
}

// A host that is the zone or below it: probe-host requests never fall through to the API.
bool under_zone(std::string_view host, const dns::Name& zone) {
  std::string z = zone.to_text();
  if (z.ends_with('.')) z.pop_back();
  return host == z || (host.size() > z.size() && host.ends_with(z) && host[host.size() - z.size() - 1] == '.');
}

io::http::Response probe_answer(const PageContext& ctx, const io::http::Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return json_error(405, "use GET");
  if (!probe_token(ctx.key, ctx.zone, req.host)) return json_error(404, "not a probe name of this test");
  io::http::Response res(200, "application/json", nlohmann::json{{"probe", req.host}}.dump() + "\n",
                         headers(probe_headers()));
  return res;
}

io::http::Response reports(const PageContext& ctx, const io::http::Request& req) {
  if (req.method != "POST") return json_error(405, "use POST");
  auto batch = accept_batch(ctx.reporters, ctx.key, ctx.zone, req.query, req.body, req.peer.ip(), ctx.now_ms());
  if (!batch) return json_error(batch.error() == BatchError::Malformed ? 400 : 403, describe(batch.error()));
  const std::size_t offered = batch->accepted.size();
  const std::size_t kept = ctx.keep ? ctx.keep(std::move(batch->accepted)) : 0;
  return {200, "application/json",
          nlohmann::json{{"kept", kept}, {"unknown_run", offered - kept}, {"not_probe_names", batch->dropped}}.dump() +
              "\n"};
}

}  // namespace

std::optional<io::http::Response> page_route(const PageContext& ctx, const io::http::Request& req) {
  try {
    if (!req.host.empty() && under_zone(req.host, ctx.zone)) return probe_answer(ctx, req);
    if (req.path == "/reports") return reports(ctx, req);
    // Browsers ask for it unprompted; an empty answer keeps a 404 out of the page's console.
    if (req.path == "/favicon.ico") return io::http::Response(204, "image/x-icon", "");
    if (const PageAsset* a = find_page_asset(req.path)) {
      if (req.method != "GET" && req.method != "HEAD") return json_error(405, "use GET");
      return io::http::Response(200, std::string(a->content_type), std::string(a->body),
                                headers(page_headers(ctx.zone.to_text())));
    }
    return std::nullopt;
  } catch (const std::exception&) {
    return json_error(500, "internal error");
  }
}

}  // namespace dnsfence::witness
