// The small HTTP server and client, on loopback port 0, against each other and against
// cpp-httplib as an independent peer (tests may link it; the dnsfence binary does not).
#include "io/http.hpp"

#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace dnsfence::io::http {
namespace {

const common::SocketAddress kLoopback(common::IpAddress::parse("127.0.0.1").value(), 0);

Response echo(const Request& r) {
  if (r.path == "/boom") throw std::runtime_error("handler failed");
  if (r.path == "/missing") return {404, "text/plain", "no\n"};
  return {r.method == "POST" ? 201 : 200, "application/json", r.method + " " + r.path + " " + r.body};
}

// Sends raw bytes and returns whatever the server answers before closing.
std::string raw(std::uint16_t port, const std::string& bytes) {
  auto fd = connect_tcp(common::SocketAddress(kLoopback.ip(), port));
  EXPECT_TRUE(fd.has_value());
  pollfd p{fd->get(), POLLOUT, 0};
  poll(&p, 1, 1000);
  (void)!send(fd->get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  std::array<char, 4096> buf{};
  for (;;) {
    pollfd q{fd->get(), POLLIN, 0};
    if (poll(&q, 1, 3000) <= 0) break;
    const ssize_t n = recv(fd->get(), buf.data(), buf.size(), 0);
    if (n <= 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  return out;
}

TEST(Http, ClientAndServerRoundTrip) {
  Server server(kLoopback, echo);
  server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto get = request(base, "GET", "/runs/7");
  ASSERT_TRUE(get.has_value()) << get.error();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET /runs/7 ");
  auto post = request(base + "/", "POST", "/runs", R"({"count":4})");
  ASSERT_TRUE(post.has_value()) << post.error();
  EXPECT_EQ(post->status, 201);
  EXPECT_EQ(post->body, R"(POST /runs {"count":4})");
  EXPECT_EQ(request(base, "GET", "/missing")->status, 404);
  EXPECT_EQ(request(base, "GET", "/boom")->status, 500);
  server.stop();
}

TEST(Http, InteroperatesWithCppHttplib) {
  Server server(kLoopback, echo);
  server.start();
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Post("/runs", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, "POST /runs {}");
  server.stop();

  httplib::Server peer;
  peer.Get("/runs/r1",
           [](const httplib::Request&, httplib::Response& r) { r.set_content("{\"ok\":1}", "application/json"); });
  const int port = peer.bind_to_any_port("127.0.0.1");
  std::thread t([&] { peer.listen_after_bind(); });  // bound and listening: connections queue
  auto got = request("127.0.0.1:" + std::to_string(port), "GET", "/runs/r1");
  peer.stop();
  t.join();
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "{\"ok\":1}");
}

TEST(Http, MalformedAndOversizeRequestsGetErrorsNotCrashes) {
  Server server(kLoopback, echo, Limits{256, 16, std::chrono::milliseconds(300)});
  server.start();
  EXPECT_TRUE(raw(server.port(), "garbage\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(raw(server.port(), "GET nopath HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(raw(server.port(), "POST /x HTTP/1.1\r\nContent-Length: 17\r\n\r\n").starts_with("HTTP/1.1 413 "));
  EXPECT_TRUE(raw(server.port(), "POST /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(
      raw(server.port(), "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(raw(server.port(), "GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 431 "));
  // A client that sends half a request and stalls is cut off by the read timeout...
  EXPECT_TRUE(raw(server.port(), "GET /slow HTTP/1.1\r\n").starts_with("HTTP/1.1 408 "));
  // ...and the server still answers the next one.
  auto ok = request("127.0.0.1:" + std::to_string(server.port()), "GET", "/fine");
  ASSERT_TRUE(ok.has_value()) << ok.error();
  EXPECT_EQ(ok->status, 200);
  server.stop();
}

TEST(Http, ClientErrorsAreReadable) {
  Server server(kLoopback, echo);
  const std::uint16_t port = server.port();
  server.stop();  // bound but never served: connections queue, nobody answers
  auto slow = request("127.0.0.1:" + std::to_string(port), "GET", "/", {}, std::chrono::milliseconds(200));
  ASSERT_FALSE(slow.has_value());
  EXPECT_NE(slow.error().find("timeout"), std::string::npos) << slow.error();
  EXPECT_FALSE(request("not a url", "GET", "/").has_value());
}

}  // namespace
}  // namespace dnsfence::io::http
