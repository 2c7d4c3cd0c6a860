#pragma once
// The Prometheus endpoint: GET /metrics on the configured address, served by cpp-httplib on its
// own thread. Bound before privileges are dropped, served after.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/net.hpp"

namespace httplib {
class Server;
}

namespace dnsfence::proxy {

class MetricsHttp {
 public:
  /// Binds `address` ("127.0.0.1:9153"). Throws std::runtime_error if it cannot.
  MetricsHttp(const std::string& address, std::function<std::string()> render);
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;
  ~MetricsHttp();
  /// Starts serving on a thread.
  void start();
  /// Stops and joins.
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace dnsfence::proxy
