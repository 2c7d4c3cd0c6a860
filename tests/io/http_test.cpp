// The event-driven HTTP server and the client, on loopback port 0: against each other, against
// cpp-httplib as an independent peer (tests may link it; the dnsfence binary does not), and
// against raw sockets playing idle, slow, greedy and pipelining clients.
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "io/http.hpp"
#include "io/http_server.hpp"

namespace dnsfence::io::http {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

const common::SocketAddress kLoopback(common::IpAddress::parse("127.0.0.1").value(), 0);

Response echo(const Request& r) {
  if (r.path == "/boom") throw std::runtime_error("handler failed");
  if (r.path == "/missing") return {404, "text/plain", "no\n"};
  return {r.method == "POST" ? 201 : 200, "application/json", r.method + " " + r.target + " " + r.body};
}

Fd connect_to(std::uint16_t port, const char* from = nullptr) {
  const common::SocketAddress to(kLoopback.ip(), port);
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (from != nullptr) {
    sockaddr_storage ss{};
    const socklen_t len = common::SocketAddress(common::IpAddress::parse(from).value(), 0).to_sockaddr(ss);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  }
  sockaddr_storage ss{};
  const socklen_t len = to.to_sockaddr(ss);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  return fd;
}

void send_all(const Fd& fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

// Reads until `responses` complete responses arrived (Content-Length framing), the peer closed,
// or `wait` passed; returns what arrived.
std::string read_responses(const Fd& fd, std::size_t responses = 1, std::chrono::milliseconds wait = 3000ms) {
  std::string out;
  const auto deadline = Steady::now() + wait;
  auto complete = [&] {
    std::size_t at = 0;
    for (std::size_t i = 0; i < responses; ++i) {
      const auto head = out.find("\r\n\r\n", at);
      const auto cl = out.find("Content-Length: ", at);
      if (head == std::string::npos || cl == std::string::npos) return false;
      at = head + 4 + std::stoul(out.substr(cl + 16));
      if (out.size() < at) return false;
    }
    return true;
  };
  while (!complete()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    pollfd p{fd.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    std::array<char, 4096> buf{};
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n <= 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
  return out;
}

// True if the server closes `fd` within `wait` (EOF or reset), reading and discarding data.
bool closed_within(const Fd& fd, std::chrono::milliseconds wait) {
  const auto deadline = Steady::now() + wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    pollfd p{fd.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    std::array<char, 4096> buf{};
    if (::recv(fd.get(), buf.data(), buf.size(), 0) <= 0) return true;
  }
}

std::string get(const std::string& path, const std::string& extra = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

TEST(Http, ClientAndServerRoundTrip) {
  Server server(kLoopback, synchronous(echo));
  server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto got = request(base, "GET", "/runs/7");
  ASSERT_TRUE(got.has_value()) << got.error();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "GET /runs/7 ");
  auto post = request(base + "/", "POST", "/runs", R"({"count":4})");
  ASSERT_TRUE(post.has_value()) << post.error();
  EXPECT_EQ(post->status, 201);
  EXPECT_EQ(post->body, R"(POST /runs {"count":4})");
  EXPECT_EQ(request(base, "GET", "/missing")->status, 404);
  EXPECT_EQ(request(base, "GET", "/boom")->status, 500);
}

TEST(Http, InteroperatesWithCppHttplib) {
  Server server(kLoopback, synchronous(echo));
  server.start();
  httplib::Client client("127.0.0.1", server.port());
  client.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {  // over one keep-alive connection
    auto res = client.Post("/runs", "{}", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 201);
    EXPECT_EQ(res->body, "POST /runs {}");
  }
  EXPECT_EQ(server.stats().accepted.load(), 1U);

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

TEST(Http, KeepAliveAndPipelining) {
  Server server(kLoopback, synchronous(echo));
  server.start();
  const Fd fd = connect_to(server.port());
  send_all(fd, get("/a"));
  const std::string first = read_responses(fd);
  EXPECT_NE(first.find("Connection: keep-alive"), std::string::npos) << first;
  EXPECT_NE(first.find("GET /a "), std::string::npos);
  // Two requests in one segment: two answers, in order, on the same connection.
  send_all(fd, get("/b") + get("/c", "Connection: close\r\n"));
  const std::string both = read_responses(fd, 2);
  EXPECT_LT(both.find("GET /b "), both.find("GET /c "));
  EXPECT_NE(both.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(closed_within(fd, 2000ms));
}

TEST(Http, MalformedRequestsGetAnErrorAndTheConnectionCloses) {
  ServerLimits limits;
  limits.parser.max_body = 16;
  Server server(kLoopback, synchronous(echo), limits);
  server.start();
  const auto answer = [&](const std::string& bytes) {
    const Fd fd = connect_to(server.port());
    send_all(fd, bytes);
    std::string out = read_responses(fd);
    EXPECT_TRUE(closed_within(fd, 2000ms)) << bytes;
    return out.substr(0, 12);
  };
  EXPECT_EQ(answer("garbage\r\n\r\n"), "HTTP/1.1 400");
  EXPECT_EQ(answer("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n"), "HTTP/1.1 413");
  EXPECT_EQ(answer("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"), "HTTP/1.1 400");
  EXPECT_EQ(answer("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), "HTTP/1.1 501");
  EXPECT_EQ(answer("GET /" + std::string(3000, 'a') + " HTTP/1.1\r\n\r\n"), "HTTP/1.1 414");
  EXPECT_EQ(server.stats().bad_requests.load(), 5U);
}

// The issue's case: idle and slow clients never delay an honest request.
TEST(Http, IdleAndSlowClientsDoNotDelayAnHonestOne) {
  ServerLimits limits;
  limits.max_connections_per_client = 100;
  Server server(kLoopback, synchronous(echo), limits);
  server.start();
  std::vector<Fd> hostile;
  for (int i = 0; i < 40; ++i) hostile.push_back(connect_to(server.port()));  // idle
  for (int i = 0; i < 40; ++i) {
    hostile.push_back(connect_to(server.port()));
    send_all(hostile.back(), "GET /slow HTTP/1.1\r\nHo");  // half a head, then nothing
  }
  const auto start = Steady::now();
  const Fd honest = connect_to(server.port());
  send_all(honest, get("/honest"));
  const std::string out = read_responses(honest);
  EXPECT_LT(Steady::now() - start, 100ms);
  EXPECT_NE(out.find("GET /honest "), std::string::npos) << out;
}

TEST(Http, TheHeadDeadlineIsNotRestartedByATrickle) {
  ServerLimits limits;
  limits.header_timeout = 300ms;
  Server server(kLoopback, synchronous(echo), limits);
  server.start();
  const Fd fd = connect_to(server.port());
  const std::string head = "GET /trickle HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(100, 'x');
  const auto start = Steady::now();
  std::size_t i = 0;
  std::string got;
  // One byte every 20 ms would keep an idle timer alive forever; the phase deadline is total.
  while (Steady::now() - start < 3s && got.empty()) {
    if (i < head.size()) (void)::send(fd.get(), &head[i++], 1, MSG_NOSIGNAL);
    got = read_responses(fd, 1, 20ms);
  }
  EXPECT_EQ(got.substr(0, 12), "HTTP/1.1 408") << got;
  EXPECT_LT(Steady::now() - start, 2s);
  EXPECT_TRUE(closed_within(fd, 1000ms));
}

TEST(Http, AtTheCapTheLongestWaitingConnectionMakesRoom) {
  ServerLimits limits;
  limits.max_connections = 4;
  Server server(kLoopback, synchronous(echo), limits);
  server.start();
  std::vector<Fd> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(connect_to(server.port()));
  // Synchronise on the server having accepted them all before the fifth arrives.
  for (int i = 0; i < 200 && server.stats().open.load() < 4; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(server.stats().open.load(), 4);
  const Fd honest = connect_to(server.port());
  send_all(honest, get("/room"));
  EXPECT_NE(read_responses(honest).find("GET /room "), std::string::npos);
  EXPECT_TRUE(closed_within(idle.front(), 1000ms));  // the oldest waiting one was closed
  EXPECT_EQ(server.stats().evicted.load(), 1U);
}

TEST(Http, OneClientCannotHoldMoreThanItsShare) {
  ServerLimits limits;
  limits.max_connections_per_client = 2;
  Server server(kLoopback, synchronous(echo), limits);
  server.start();
  const Fd a = connect_to(server.port(), "127.0.0.1");
  const Fd b = connect_to(server.port(), "127.0.0.1");
  const Fd c = connect_to(server.port(), "127.0.0.1");
  EXPECT_TRUE(closed_within(c, 2000ms));
  const Fd other = connect_to(server.port(), "127.1.0.1");  // another client is still served
  send_all(other, get("/other"));
  EXPECT_NE(read_responses(other).find("GET /other "), std::string::npos);
  EXPECT_EQ(server.stats().refused.load(), 1U);
}

TEST(Http, AnswersMayComeLaterFromAnotherThread) {
  std::vector<std::thread> workers;
  std::mutex m;
  ServerLimits limits;
  limits.handler_timeout = 500ms;
  Server server(
      kLoopback,
      [&](const Request& r, const Reply& reply) {
        if (r.path == "/never") return;  // the deadline answers for it
        if (r.path == "/now") return reply(Response{200, "text/plain", "now"});
        const std::lock_guard lock(m);
        workers.emplace_back([reply] {
          std::this_thread::sleep_for(200ms);
          reply(Response{200, "text/plain", "later"});
          reply(Response{500, "text/plain", "twice"});  // ignored
        });
      },
      limits);
  server.start();
  const Fd slow = connect_to(server.port());
  send_all(slow, get("/later"));
  const auto start = Steady::now();
  const Fd fast = connect_to(server.port());
  send_all(fast, get("/now"));
  EXPECT_NE(read_responses(fast).find("now"), std::string::npos);
  EXPECT_LT(Steady::now() - start, 150ms);  // not queued behind the slow answer
  const std::string later = read_responses(slow);
  EXPECT_NE(later.find("later"), std::string::npos) << later;
  EXPECT_EQ(later.find("twice"), std::string::npos);
  const Fd never = connect_to(server.port());
  send_all(never, get("/never"));
  EXPECT_EQ(read_responses(never).substr(0, 12), "HTTP/1.1 503");
  server.stop();
  for (auto& t : workers) t.join();
}

TEST(Http, ClientErrorsAreReadable) {
  Server server(kLoopback, synchronous(echo));
  const std::uint16_t port = server.port();  // bound but never started: connections queue
  auto slow = request("127.0.0.1:" + std::to_string(port), "GET", "/", {}, 200ms);
  ASSERT_FALSE(slow.has_value());
  EXPECT_NE(slow.error().find("timeout"), std::string::npos) << slow.error();
  EXPECT_FALSE(request("not a url", "GET", "/").has_value());
}

TEST(Http, CrossOriginHelper) {
  Response r{200, "text/plain", "x"};
  allow_any_origin(r);
  ASSERT_EQ(r.headers.size(), 2U);
  EXPECT_EQ(r.headers[0].name, "Access-Control-Allow-Origin");
  EXPECT_EQ(r.headers[1].name, "Timing-Allow-Origin");
}

}  // namespace
}  // namespace dnsfence::io::http
