#include "proxy/metrics_http.hpp"

#include <stdexcept>
#include <utility>

namespace dnsfence::proxy {

MetricsHttp::MetricsHttp(const std::string& address, std::function<std::string()> render) {
  auto a = common::SocketAddress::parse(address, 9153);
  if (!a) throw std::runtime_error("metrics address: " + a.error());
  server_.emplace(*a, [render = std::move(render)](const io::http::Request& req) -> io::http::Response {
    const std::string_view path = std::string_view(req.path).substr(0, req.path.find('?'));
    if (req.method != "GET" || path != "/metrics") return {404, "text/plain", "not found\n"};
    return {200, "text/plain; version=0.0.4", render()};
  });
}

}  // namespace dnsfence::proxy
