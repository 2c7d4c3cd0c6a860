// The API and the DNS server together on loopback, on ports the kernel picks.

#include "witness/api.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "dns/testing_packets.hpp"
#include "witness/fake_clock.hpp"

namespace dnsfence::witness {
namespace {

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

TEST(WitnessApi, CreateQueryAndReadResults) {
  testing::FakeClock clock;
  Store store(StoreLimits{std::chrono::seconds(60), 1, 4}, clock);
  const Key key(std::vector<std::uint8_t>(32, 7));
  const ZoneConfig z = zone();
  common::Registry registry;
  WitnessMetrics metrics(registry);
  const Responder responder(z, key, store);
  const common::SocketAddress loopback{common::IpAddress::parse("127.0.0.1").value(), 0};
  Server server(responder, {loopback}, ServerLimits{}, metrics);
  const int stop = ::eventfd(0, EFD_CLOEXEC);
  std::thread dns([&] { server.run(stop); });
  Api api(ApiContext{store, key, z, 2, registry, metrics}, loopback, Api::Routes::All);
  api.start();

  httplib::Client client("127.0.0.1", api.port());
  auto created = client.Post("/runs");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  const auto run = nlohmann::json::parse(created->body);
  ASSERT_EQ(run["probes"].size(), 2U);
  EXPECT_EQ(client.Post("/runs")->status, 503);  // max_runs = 1

  const auto reply = udp_query(server.bound()[0].port(), dns::testing::query(run["probes"][0].get<std::string>()));
  auto m = dns::parse(reply);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header().ancount, 1);

  auto results = client.Get("/runs/" + run["run"].get<std::string>());
  ASSERT_EQ(results->status, 200);
  const auto body = nlohmann::json::parse(results->body);
  ASSERT_EQ(body["resolvers"].size(), 1U);
  EXPECT_EQ(body["resolvers"][0]["address"], "127.0.0.1");
  EXPECT_EQ(body["resolvers"][0]["transports"], nlohmann::json::array({"udp"}));
  EXPECT_EQ(body["resolvers"][0]["types"], nlohmann::json::array({"A"}));
  // Which probe names each resolver asked (the Stealth test), and what the witness serves there
  // (the TAMPERED test): the shape `dnsfence leaktest` reads.
  EXPECT_EQ(body["resolvers"][0]["names"], nlohmann::json::array({run["probes"][0]}));
  EXPECT_EQ(body["answers"], run["answers"]);
  EXPECT_FALSE(body["answers"].empty());
  EXPECT_EQ(client.Get("/runs/0000000000000000")->status, 404);
  EXPECT_EQ(client.Get("/runs/nothex")->status, 400);
  const std::string text = client.Get("/metrics")->body;
  EXPECT_NE(text.find("dnsfence_witness_queries_total{outcome=\"answer\"} 1"), std::string::npos);
  EXPECT_NE(text.find("dnsfence_witness_runs_refused_total 1"), std::string::npos);
  EXPECT_EQ(text.find("127.0.0.1"), std::string::npos);  // no client addresses in metrics

  api.stop();
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(stop, &one, sizeof one), 8);
  dns.join();
  ::close(stop);
}

TEST(WitnessServer, DelaysAndNoReply) {
  testing::FakeClock clock;
  Store store(StoreLimits{}, clock);
  const Key key(std::vector<std::uint8_t>(32, 7));
  const ZoneConfig z = zone();
  common::Registry registry;
  WitnessMetrics metrics(registry);
  const Responder responder(z, key, store);
  Server server(responder, {common::SocketAddress{common::IpAddress::parse("127.0.0.1").value(), 0}}, ServerLimits{},
                metrics);
  const int stop = ::eventfd(0, EFD_CLOEXEC);
  std::thread dns([&] { server.run(stop); });
  const std::uint16_t port = server.bound()[0].port();
  const std::string probe = encode_token(key, Token{store.create().value().id, 1}) + ".witness.test";

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
