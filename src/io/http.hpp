#pragma once
// A small HTTP/1.1 server and client for dnsfence's loopback JSON APIs and Prometheus endpoints.
// Not cpp-httplib: Debian's libcpp-httplib links OpenSSL, brotli and zlib, which every dnsfence
// process would then map and initialise (libcrypto alone is ~3 MiB resident), and `serve` must stay
// under 12 MiB with 10,000 queries in flight. No TLS, no chunked encoding, no keep-alive: one
// request per connection, Content-Length framing, bounded sizes and times.

#include <chrono>
#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "common/net.hpp"
#include "io/socket.hpp"

namespace dnsfence::io::http {

struct Request {
  std::string method;  // "GET", "POST"
  std::string path;    // "/runs/abc" (query string kept)
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct Limits {
  std::size_t max_header = 8192;                 // request line + headers
  std::size_t max_body = 65536;                  // beyond it: 413
  std::chrono::milliseconds read_timeout{2000};  // per connection, whole request
};

/// Answers one connection at a time on its own thread. The handler runs on that thread; an
/// exception from it becomes a 500. Malformed requests get 400, oversize ones 413; nothing crashes.
class Server {
 public:
  using Handler = std::function<Response(const Request&)>;
  /// Binds `address` now (before privileges are dropped). Throws std::runtime_error.
  Server(const common::SocketAddress& address, Handler handler, Limits limits = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  void start();
  /// Stops and joins; idempotent.
  void stop();

 private:
  void serve() noexcept;
  void answer(int fd) noexcept;

  Fd listener_;
  Fd wake_;
  Handler handler_;
  Limits limits_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// One request to `base` ("http://192.0.2.5:8053", or "192.0.2.5:8053"); `timeout` bounds connect,
/// send and receive together. Fails with a readable reason (connection refused, timeout, bad reply).
std::expected<Response, std::string> request(std::string_view base, std::string_view method, std::string_view path,
                                             std::string_view body = {},
                                             std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// The reason phrase of a status ("Not Found").
std::string_view reason(int status) noexcept;

}  // namespace dnsfence::io::http
