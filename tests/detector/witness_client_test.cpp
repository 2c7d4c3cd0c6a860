#include "detector/witness_client.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <thread>

namespace dnsfence::detector {
namespace {

using namespace std::chrono_literals;

TEST(WitnessClient, ParsesTheDocumentedShapes) {
  const auto run = parse_run(R"({"run":"r1","probes":["A.leak.example."],"answers":["192.0.2.99"]})");
  EXPECT_EQ(run.id, "r1");
  EXPECT_EQ(run.probes, (std::vector<std::string>{"a.leak.example"}));
  const auto res = parse_results(R"({"resolvers":[{"address":"203.0.113.10","names":["a.leak.example"],"first":"x"}]})",
                                 run.answers);
  ASSERT_EQ(res.resolvers.size(), 1U);
  EXPECT_EQ(res.resolvers[0].address.to_string(), "203.0.113.10");
  EXPECT_EQ(res.served, (std::vector<std::string>{"192.0.2.99"}));
  EXPECT_THROW(parse_run(R"({"probes":[]})"), std::exception);
  EXPECT_THROW(parse_results(R"({"resolvers":[{"address":"nope"}]})", {}), std::exception);
}

// Issue 16: what a reporting VPN server told the witness comes back with the run.
TEST(WitnessClient, ParsesTheVpnServersReports) {
  const auto res = parse_results(R"({"resolvers":[],"reports":[{"destination":"100.64.53.53","class":"private",
    "transport":"udp","transports":["udp"],"action":"redirected","reporter":"vpn-1","role":"other",
    "names":["A.leak.example."],"count":2}]})",
                                 {});
  ASSERT_EQ(res.reports.size(), 1U);
  EXPECT_EQ(res.reports[0].destination.to_string(), "100.64.53.53");
  EXPECT_EQ(res.reports[0].destination_class, "private");
  EXPECT_EQ(res.reports[0].action, "redirected");
  EXPECT_EQ(res.reports[0].reporter, "vpn-1");
  EXPECT_EQ(res.reports[0].names, (std::vector<std::string>{"a.leak.example"}));
  EXPECT_THROW(parse_results(R"({"resolvers":[],"reports":[{"destination":"x"}]})", {}), std::exception);
}

// Like an old witness, the fake hands out its run whatever the count; the caller (gather) checks.
TEST(WitnessClient, FakeHandsOutItsRunAndRecordsTheCount) {
  FakeWitness w(WitnessRun{"r", {"a.x", "b.x"}, {}}, WitnessResults{});
  EXPECT_EQ(w.create_run(2).probes.size(), 2U);
  EXPECT_EQ(w.create_run(3).probes.size(), 2U);
  EXPECT_EQ(w.asked(), (std::vector<std::size_t>{2, 3}));
  w.fail_create();
  EXPECT_THROW(w.create_run(1), std::runtime_error);
}

TEST(WitnessClient, HttpAgainstALoopbackServer) {
  httplib::Server server;
  std::string body;
  server.Post("/runs", [&body](const httplib::Request& req, httplib::Response& res) {
    body = req.body;
    res.set_content(R"({"run":"r7","probes":["a.leak.example","b.leak.example"],"answers":["192.0.2.99"]})",
                    "application/json");
  });
  server.Get("/runs/r7", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"resolvers":[{"address":"198.51.100.53","names":["b.leak.example"]}]})", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  for (int i = 0; i < 1000 && !server.is_running(); ++i) std::this_thread::sleep_for(1ms);
  auto client = make_http_witness("http://127.0.0.1:" + std::to_string(port), 2000ms);
  const auto run = client->create_run(2);
  const auto res = client->results(run);
  server.stop();
  t.join();
  EXPECT_EQ(run.id, "r7");
  EXPECT_EQ(nlohmann::json::parse(body), nlohmann::json({{"count", 2}}));  // exactly what the run needs
  ASSERT_EQ(res.resolvers.size(), 1U);
  EXPECT_EQ(res.resolvers[0].names, (std::vector<std::string>{"b.leak.example"}));
  EXPECT_EQ(res.served, (std::vector<std::string>{"192.0.2.99"}));
}

// A witness that refuses the count says why; leaktest's INCONCLUSIVE must carry that reason.
TEST(WitnessClient, TheWitnessesReasonForARefusalIsKept) {
  httplib::Server server;
  server.Post("/runs", [](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"j({"error":"count: this witness hands out at most 4 probe names per run (max_probes_per_run)"})j",
                    "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  for (int i = 0; i < 1000 && !server.is_running(); ++i) std::this_thread::sleep_for(1ms);
  auto client = make_http_witness("http://127.0.0.1:" + std::to_string(port), 2000ms);
  std::string what;
  try {
    client->create_run(18);
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  server.stop();
  t.join();
  EXPECT_NE(what.find("HTTP 400: count: this witness hands out at most 4"), std::string::npos) << what;
}

TEST(WitnessClient, UnreachableWitnessThrowsWithTheReason) {
  auto client = make_http_witness("http://127.0.0.1:1", 500ms);
  EXPECT_THROW(client->create_run(1), std::runtime_error);
}

}  // namespace
}  // namespace dnsfence::detector
