// The public and operator APIs and the DNS server together on loopback, on ports the kernel picks.

#include "witness/api.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/probe_report.hpp"
#include "dns/testing_packets.hpp"
#include "witness/fake_clock.hpp"
#include "witness/memory_store.hpp"

namespace dnsfence::witness {
namespace {

const common::SocketAddress kLoopback{common::IpAddress::parse("127.0.0.1").value(), 0};

ZoneConfig zone() {
  ZoneConfig z;
  z.zone = dns::Name::from_text("witness.test").value();
  z.soa_rname = dns::Name::from_text("hostmaster.witness.test").value();
  z.answer_a = {common::IpAddress::parse("192.0.2.80").value()};
  return z;
}

// Sends one UDP query to 127.0.0.1:port; returns the reply (empty after `wait_ms` without one).
std::vector<std::uint8_t> udp_query(std::uint16_t port, const std::vector<std::uint8_t>& q, int wait_ms = 2000) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{wait_ms / 1000, (wait_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::vector<std::uint8_t> reply(65535);
  const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
  ::close(fd);
  reply.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return reply;
}

struct HttpReply {
  int status = 0;
  std::string head;
  std::string body;
};

// One HTTP/1.1 request from the local address `from` (127.0.0.0/8 holds many /24 prefixes). The
// reply ends when the server closes (Connection: close); the long poll bound is only for a hang,
// so a busy machine (sanitizers, parallel ctest) never turns a slow reply into status 0.
HttpReply http(std::uint16_t port, const std::string& method, const std::string& path, const std::string& body = {},
               const std::string& from = "127.0.0.1", const std::string& host = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss{};
  socklen_t len = common::SocketAddress(common::IpAddress::parse(from).value(), 0).to_sockaddr(ss);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&ss), len), 0);
  len = common::SocketAddress(kLoopback.ip(), port).to_sockaddr(ss);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&ss), len), 0);
  const std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + host +
                          "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string raw;
  std::array<char, 4096> buf{};
  for (pollfd p{fd, POLLIN, 0}; ::poll(&p, 1, 30000) > 0;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    raw.append(buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  HttpReply r;
  const auto end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

nlohmann::json json_of(const HttpReply& r) {
  return nlohmann::json::parse(r.body);
}

// A witness on loopback: DNS server, public and operator APIs over one memory store.
class Witness {
 public:
  explicit Witness(StoreLimits limits = {std::chrono::seconds(60), 4, 4}, RateLimit rate = {0, 1})
      : store_(limits, clock_), limiter_(rate) {
    config_.run_ttl = limits.run_ttl;
    dns_thread_ = std::thread([this] { server_.run(stop_); });
    public_.start();
    operator_.observe(public_);
    operator_.start();
  }
  ~Witness() {
    public_.stop();
    operator_.stop();
    const std::uint64_t one = 1;
    (void)!::write(stop_, &one, sizeof one);
    dns_thread_.join();
    ::close(stop_);
  }
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  std::uint16_t api() { return public_.port(); }
  std::uint16_t ops() { return operator_.port(); }
  std::uint16_t dns() { return server_.bound()[0].port(); }
  WitnessMetrics& metrics() { return metrics_; }

 private:
  SystemClock clock_;  // tokens carry real expiry times: the DNS side checks them against now
  MemoryStore store_;
  PrefixRateLimiter limiter_;
  Keyring keys_{Key(std::vector<std::uint8_t>(32, 7))};
  ZoneConfig config_ = zone();
  common::Registry registry_;
  WitnessMetrics metrics_{registry_};
  ApiMetrics api_metrics_{registry_};
  Responder responder_{config_, keys_, store_, clock_};
  Server server_{responder_, {kLoopback}, ServerLimits{}, metrics_};
  int stop_ = ::eventfd(0, EFD_CLOEXEC);
  std::thread dns_thread_;
  // The browser page's roles and one reporting VPN server (issue 16).
  std::vector<ResolverRole> roles_{{"Example VPN", {common::Prefix::parse("127.0.0.0/24").value()}}};
  std::vector<ReporterConfig> reporters_{{"vpn-1", std::vector<std::uint8_t>(32, 1), {}}};
  ApiContext ctx_{store_,    keys_,     config_,  clock_,       RunPolicy{2, 10, std::chrono::seconds(60)},
                  &limiter_, registry_, metrics_, api_metrics_, roles_,
                  reporters_};
  Api public_{ctx_, kLoopback, Api::Role::Public};
  Api operator_{ctx_, kLoopback, Api::Role::Operator};
};

TEST(WitnessApi, CreateQueryAndReadResults) {
  Witness w(StoreLimits{std::chrono::seconds(60), 1, 4});
  const HttpReply created = http(w.api(), "POST", "/runs");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto run = json_of(created);
  ASSERT_EQ(run["probes"].size(), 2U);                    // the default count
  EXPECT_EQ(run["run"].get<std::string>().size(), 32U);   // 128 bits: the read capability
  EXPECT_EQ(http(w.api(), "POST", "/runs").status, 503);  // max_runs = 1

  const auto reply = udp_query(w.dns(), dns::testing::query(run["probes"][0].get<std::string>()));
  auto m = dns::parse(reply);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header().ancount, 1);

  const HttpReply results = http(w.api(), "GET", "/runs/" + run["run"].get<std::string>());
  ASSERT_EQ(results.status, 200) << results.body;
  const auto body = json_of(results);
  ASSERT_EQ(body["resolvers"].size(), 1U);
  EXPECT_EQ(body["resolvers"][0]["address"], "127.0.0.1");
  EXPECT_EQ(body["resolvers"][0]["transports"], nlohmann::json::array({"udp"}));
  EXPECT_EQ(body["resolvers"][0]["types"], nlohmann::json::array({"A"}));
  // Which probe names each resolver asked (the Stealth test), and what the witness serves there
  // (the TAMPERED test): the shape `dnsfence leaktest` reads.
  EXPECT_EQ(body["resolvers"][0]["names"], nlohmann::json::array({run["probes"][0]}));
  EXPECT_EQ(body["answers"], run["answers"]);
  EXPECT_FALSE(body["answers"].empty());
  EXPECT_EQ(body["incomplete"], false);
  EXPECT_EQ(http(w.api(), "GET", "/runs/" + std::string(32, '0')).status, 404);
  EXPECT_EQ(http(w.api(), "GET", "/runs/nothex").status, 400);
}

// Every resolver on the path sees the probe names; none of them may read the run with what they
// contain (the 64-bit run id is no key).
TEST(WitnessApi, ProbeNamesDoNotOpenTheRun) {
  Witness w;
  const auto run = json_of(http(w.api(), "POST", "/runs"));
  const auto txt = udp_query(w.dns(), dns::testing::query(run["probes"][0].get<std::string>(), dns::rrtype::TXT));
  const std::string evidence(txt.begin(), txt.end());
  const auto at = evidence.find("run=");
  ASSERT_NE(at, std::string::npos);
  const std::string id = evidence.substr(at + 4, 16);
  EXPECT_EQ(http(w.api(), "GET", "/runs/" + id).status, 400);
  EXPECT_EQ(http(w.api(), "GET", "/runs/" + id + id).status, 404);
  EXPECT_EQ(run["run"].get<std::string>().find(id), std::string::npos);
}

TEST(WitnessApi, RunsAreSizedToTheTest) {
  Witness w;
  EXPECT_EQ(json_of(http(w.api(), "POST", "/runs", R"({"count": 9})"))["probes"].size(), 9U);
  EXPECT_EQ(json_of(http(w.api(), "POST", "/runs", "{}"))["probes"].size(), 2U);
  const HttpReply too_many = http(w.api(), "POST", "/runs", R"({"count": 11})");
  EXPECT_EQ(too_many.status, 400);
  EXPECT_NE(too_many.body.find("at most 10"), std::string::npos) << too_many.body;
  EXPECT_EQ(http(w.api(), "POST", "/runs", R"({"count": 0})").status, 400);
  EXPECT_EQ(http(w.api(), "POST", "/runs", R"({"count": "9"})").status, 400);
  EXPECT_EQ(http(w.api(), "POST", "/runs", "[9]").status, 400);
  EXPECT_EQ(http(w.api(), "POST", "/runs", "{count").status, 400);
}

TEST(WitnessApi, OneNetworkFloodingRunCreationDoesNotStarveAnother) {
  Witness w(StoreLimits{std::chrono::seconds(60), 100, 4}, RateLimit{1, 3});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http(w.api(), "POST", "/runs", {}, "127.0.0.1").status, 201);
  const HttpReply limited = http(w.api(), "POST", "/runs", {}, "127.0.0.9");  // the same /24
  EXPECT_EQ(limited.status, 429);
  EXPECT_NE(limited.head.find("Retry-After: "), std::string::npos);
  EXPECT_EQ(http(w.api(), "POST", "/runs", {}, "127.1.0.1").status, 201);  // another /24
  EXPECT_EQ(w.metrics().runs_created->value(), 4U);
  const std::string text = http(w.ops(), "GET", "/metrics").body;
  EXPECT_NE(text.find("dnsfence_witness_runs_rate_limited_total 1"), std::string::npos);
}

TEST(WitnessApi, OperatorEndpointsAreOnTheirOwnListener) {
  Witness w;
  EXPECT_EQ(http(w.api(), "GET", "/metrics").status, 404);
  EXPECT_EQ(http(w.api(), "GET", "/status").status, 404);
  EXPECT_EQ(http(w.api(), "GET", "/healthz").status, 200);
  EXPECT_EQ(http(w.ops(), "POST", "/runs").status, 405);
  EXPECT_EQ(http(w.ops(), "GET", "/runs/" + std::string(32, '0')).status, 404);
  http(w.api(), "POST", "/runs");
  const std::string text = http(w.ops(), "GET", "/metrics").body;
  EXPECT_NE(text.find("dnsfence_witness_runs_created_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("dnsfence_witness_store_connected 1"), std::string::npos);
  EXPECT_EQ(text.find("127.0.0.1"), std::string::npos);  // no client addresses in metrics
  const auto status = json_of(http(w.ops(), "GET", "/status"));
  EXPECT_EQ(status["store"]["kind"], "memory");
  EXPECT_EQ(status["store"]["runs"], 1);
  EXPECT_GE(status["public_http"]["accepted"].get<int>(), 1);
}

// Issue 16: a page fetches http://<probe>.<zone>/ to time the lookup; the answer must be readable
// and timeable from the page's origin, and name the host, so a forged DNS answer that led the
// browser to another server shows. Only authentic probe names are answered.
TEST(WitnessApi, FetchesOfProbeHostsGetCorsAndTimingHeaders) {
  Witness w;
  const auto run = json_of(http(w.api(), "POST", "/runs"));
  const std::string host = run["probes"][0].get<std::string>();
  const std::string bare = host.substr(0, host.size() - 1);
  const HttpReply r = http(w.api(), "GET", "/probe", {}, "127.0.0.1", bare + ":8053");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_of(r)["probe"], bare);
  EXPECT_NE(r.head.find("Access-Control-Allow-Origin: *"), std::string::npos) << r.head;
  EXPECT_NE(r.head.find("Timing-Allow-Origin: *"), std::string::npos);
  EXPECT_NE(r.head.find("Cache-Control: no-store"), std::string::npos);
  EXPECT_EQ(http(w.api(), "GET", "/probe", {}, "127.0.0.1", "delay-300." + bare).status, 200);
  EXPECT_EQ(http(w.api(), "GET", "/probe", {}, "127.0.0.1", "a.witness.test").status, 404) << "not a token";
  EXPECT_EQ(http(w.api(), "POST", "/probe", {}, "127.0.0.1", bare).status, 405);
  EXPECT_EQ(http(w.api(), "OPTIONS", "/x", {}, "127.0.0.1", "a.witness.test").status, 204);
  EXPECT_FALSE(is_probe_host("witness.test", zone()));
  EXPECT_FALSE(is_probe_host("evilwitness.test", zone()));
  EXPECT_TRUE(is_probe_host("x.witness.test", zone()));
}

TEST(WitnessApi, ServesTheBrowserPage) {
  Witness w;
  const HttpReply page = http(w.api(), "GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.head.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  EXPECT_NE(page.head.find("Content-Security-Policy: default-src 'none'"), std::string::npos) << page.head;
  EXPECT_NE(page.head.find("http://*.witness.test:*"), std::string::npos);
  EXPECT_NE(page.body.find("DNS leak test"), std::string::npos);
  EXPECT_EQ(http(w.api(), "GET", "/page.js").status, 200);
  EXPECT_EQ(http(w.api(), "GET", "/page.css").status, 200);
  EXPECT_EQ(http(w.api(), "GET", "/favicon.ico").status, 204);
  EXPECT_EQ(http(w.api(), "POST", "/").status, 405);
  EXPECT_EQ(http(w.api(), "GET", "/nothing").status, 404);
  EXPECT_EQ(http(w.ops(), "GET", "/").status, 404) << "the operator listener serves no page";
}

// A resolver inside a declared prefix is the VPN's, with the operator's name; and the witness's
// time comes with milliseconds (the page matches its clock with it; "created" has whole seconds).
TEST(WitnessApi, ResolversHaveRolesAndTheRunHasTheTime) {
  Witness w;
  const auto run = json_of(http(w.api(), "POST", "/runs"));
  EXPECT_EQ(run["now"].get<std::string>().size(), 24U);
  udp_query(w.dns(), dns::testing::query(run["probes"][0].get<std::string>()));
  const auto body = json_of(http(w.api(), "GET", "/runs/" + run["run"].get<std::string>()));
  ASSERT_EQ(body["resolvers"].size(), 1U);
  EXPECT_EQ(body["resolvers"][0]["role"], "vpn");
  EXPECT_EQ(body["resolvers"][0]["operator"], "Example VPN");
  EXPECT_EQ(body["reporters"], 1);
  EXPECT_EQ(body["reports"], nlohmann::json::array());
}

// A VPN server's report reaches the run it names, and only a signed batch of a configured reporter.
TEST(WitnessApi, KeepsSignedReportsWithTheirRun) {
  Witness w;
  const auto run = json_of(http(w.api(), "POST", "/runs"));
  std::string name = run["probes"][1].get<std::string>();
  name.pop_back();
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  common::ReportBatch batch{"vpn-1", now, {}};
  batch.reports.push_back({name, *common::IpAddress::parse("100.64.53.53"), "private", "udp", "redirected", now});
  batch.reports.push_back({name, *common::IpAddress::parse("10.64.0.53"), "provider", "tcp", "redirected", now});
  batch.reports.push_back(
      {"www.example", *common::IpAddress::parse("100.64.53.53"), "private", "udp", "redirected", now});
  const std::string body = common::encode_batch(batch);
  const std::string path = common::report_path("vpn-1", std::vector<std::uint8_t>(32, 1), body);
  EXPECT_EQ(http(w.api(), "POST", common::report_path("vpn-1", std::vector<std::uint8_t>(32, 2), body), body).status,
            403)
      << "another key";
  const HttpReply accepted = http(w.api(), "POST", path, body);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(json_of(accepted)["kept"], 2);
  EXPECT_EQ(json_of(accepted)["not_probe_names"], 1);

  const auto results = json_of(http(w.api(), "GET", "/runs/" + run["run"].get<std::string>()));
  ASSERT_EQ(results["reports"].size(), 2U) << results.dump();
  const auto& stealth = results["reports"][0];
  EXPECT_EQ(stealth["destination"], "100.64.53.53");
  EXPECT_EQ(stealth["class"], "private");
  EXPECT_EQ(stealth["action"], "redirected");
  EXPECT_EQ(stealth["reporter"], "vpn-1");
  EXPECT_EQ(stealth["role"], "other");
  EXPECT_EQ(stealth["names"], nlohmann::json::array({run["probes"][1]}));
  EXPECT_EQ(results["reports"][1]["role"], "vpn") << "the provider's own resolver";
  EXPECT_EQ(results["reports"][1]["transport"], "tcp");
}

TEST(WitnessServer, DelaysAndNoReply) {
  testing::FakeClock clock;
  MemoryStore store(StoreLimits{}, clock);
  const Keyring keys(Key(std::vector<std::uint8_t>(32, 7)));
  const ZoneConfig z = zone();
  common::Registry registry;
  WitnessMetrics metrics(registry);
  const Responder responder(z, keys, store, clock);
  Server server(responder, {kLoopback}, ServerLimits{}, metrics);
  const int stop = ::eventfd(0, EFD_CLOEXEC);
  std::thread dns([&] { server.run(stop); });
  const std::uint16_t port = server.bound()[0].port();
  RunSnapshot run;
  run.key = RunKey::random();
  run.id = run.key.id();
  run.created = clock.now();
  run.expires = clock.now() + std::chrono::seconds(60);
  store.create(run, [](auto) {});
  const auto expires = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(run.expires.time_since_epoch()).count());
  const std::string probe = encode_token(keys, Token{run.id, 1, expires}) + ".witness.test";

  const auto start = std::chrono::steady_clock::now();
  const auto delayed = udp_query(port, dns::testing::query("delay-300." + probe));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(delayed.empty());
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::milliseconds(1500));
  EXPECT_TRUE(udp_query(port, dns::testing::query("noreply." + probe), 500).empty());
  EXPECT_EQ(metrics.queries[static_cast<std::size_t>(Outcome::NoReply)]->value(), 1U);

  const std::uint64_t one = 1;
  ASSERT_EQ(::write(stop, &one, sizeof one), 8);
  dns.join();
  ::close(stop);
}

TEST(WitnessApi, Iso8601) {
  EXPECT_EQ(iso8601(TimePoint(std::chrono::milliseconds(1'800'000'000'123))), "2027-01-15T08:00:00.123Z");
}

}  // namespace
}  // namespace dnsfence::witness
