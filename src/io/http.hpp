#pragma once
// dnsfence's HTTP/1.1: the message types and a small client (here), a strict request parser
// (http_parser.hpp) and an event-driven server that many clients share (http_server.hpp).
// Not cpp-httplib: Debian's libcpp-httplib links OpenSSL, brotli and zlib, which every dnsfence
// process would then map and initialise (libcrypto alone is ~3 MiB resident), and `serve` must stay
// under 12 MiB with 10,000 queries in flight. Not libevent's evhttp either (docs/witness.md): it
// takes the first of several conflicting Content-Length headers, and its timeouts restart on every
// byte, so a client trickling a header keeps its connection forever. No TLS (a proxy in front
// terminates it), no chunked encoding: Content-Length framing, bounded sizes and times.

#include <chrono>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"

namespace dnsfence::io::http {

/// One header field; the server and parser store names in lowercase.
struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;           // "GET", "POST" (case-sensitive, as RFC 9110 says)
  std::string target;           // as sent: "/runs/abc?x=1"
  std::string path;             // the target without its query: "/runs/abc"
  std::string query;            // after '?', or empty
  std::string host;             // the Host header in lowercase without its port; empty if none
  std::vector<Header> headers;  // every header in order, names lowercase
  std::string body;
  int minor_version = 1;       // HTTP/1.x
  bool keep_alive = true;      // the client lets the connection serve another request
  common::SocketAddress peer;  // the client, filled by the server

  /// The value of the first header named `lowercase_name`, if any.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view lowercase_name) const noexcept;
};

struct Response {
  Response() = default;
  Response(int s, std::string type, std::string text, std::vector<Header> extra = {})
      : status(s), content_type(std::move(type)), body(std::move(text)), headers(std::move(extra)) {}

  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;  // further headers (Content-Type, -Length and Connection are added)
};

/// Lets scripts of any origin read the response and its Resource Timing details
/// (`Access-Control-Allow-Origin: *`, `Timing-Allow-Origin: *`): for public, credential-free
/// endpoints only (a browser page resolving probe names on other origins).
void allow_any_origin(Response& response);

/// The reason phrase of a status ("Not Found"); "Unknown" for one it does not know.
std::string_view reason(int status) noexcept;

/// One request to `base` ("http://192.0.2.5:8053", or "192.0.2.5:8053"); `timeout` bounds connect,
/// send and receive together. Fails with a readable reason (connection refused, timeout, bad reply).
std::expected<Response, std::string> request(std::string_view base, std::string_view method, std::string_view path,
                                             std::string_view body = {},
                                             std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace dnsfence::io::http
