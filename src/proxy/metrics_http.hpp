#pragma once
// The Prometheus endpoint: GET /metrics on the configured address, on its own thread. A minimal
// HTTP/1.0 responder on a plain socket rather than cpp-httplib: Debian's libcpp-httplib links
// OpenSSL, brotli and zlib, about 4 MiB of resident memory — a third of the proxy's budget.
// One request per connection, 1 s read timeout, at most 8 KiB of request: enough for Prometheus.
// Bound before privileges are dropped, served after.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "io/socket.hpp"

namespace dnsfence::proxy {

class MetricsHttp {
 public:
  /// Binds `address` ("127.0.0.1:9153", port 9153 when absent). Throws std::runtime_error.
  MetricsHttp(const std::string& address, std::function<std::string()> render);
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;
  ~MetricsHttp();
  /// Starts serving on a thread.
  void start();
  /// Stops and joins.
  void stop();

 private:
  void serve() noexcept;
  void answer(int fd) noexcept;

  io::Fd listener_;
  std::function<std::string()> render_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace dnsfence::proxy
