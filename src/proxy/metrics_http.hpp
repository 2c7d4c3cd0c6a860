#pragma once
// The Prometheus endpoint: GET /metrics on the configured address, on its own thread, served by
// io::http's event-driven server (not cpp-httplib, whose OpenSSL/brotli/zlib would cost ~4 MiB of a
// 12 MiB budget): a scraper that stalls never blocks another.
// Bound before privileges are dropped, served after.

#include <functional>
#include <optional>
#include <string>

#include "io/http_server.hpp"

namespace dnsfence::proxy {

class MetricsHttp {
 public:
  /// Binds `address` ("127.0.0.1:9153", port 9153 when absent). Throws std::runtime_error.
  MetricsHttp(const std::string& address, std::function<std::string()> render);
  /// Starts serving on a thread.
  void start() { server_->start(); }
  /// Stops and joins.
  void stop() { server_->stop(); }

 private:
  std::optional<io::http::Server> server_;
};

}  // namespace dnsfence::proxy
