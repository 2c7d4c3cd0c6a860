#include "proxy/metrics_http.hpp"

#include <stdexcept>
#include <utility>

namespace dnsfence::proxy {

MetricsHttp::MetricsHttp(const std::string& address, std::function<std::string()> render) {
  auto a = common::SocketAddress::parse(address, 9153);
  if (!a) throw std::runtime_error("metrics address: " + a.error());
  // A few scrapers at most: small limits keep the connection table and buffers tiny.
  io::http::ServerLimits limits;
  limits.max_connections = 16;
  limits.max_connections_per_client = 8;
  limits.parser.max_body = 0;
  server_.emplace(
      *a, io::http::synchronous([render = std::move(render)](const io::http::Request& req) -> io::http::Response {
        if (req.method != "GET" || req.path != "/metrics") return {404, "text/plain", "not found\n", {}};
        return {200, "text/plain; version=0.0.4", render(), {}};
      }),
      limits);
}

}  // namespace dnsfence::proxy
