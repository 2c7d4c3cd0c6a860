// serve's witness reporter without sockets: which queries a worker hands over (only names under the
// witness zone, only with an original destination), the bounded ring, and the batches a fake sink
// receives (signed, decodable, dropped and counted when the witness is away). Its own binary: it
// counts allocations to prove offering a sighting allocates nothing.

#include <gtest/gtest.h>

#include "alloc_counter.hpp"

#include <array>

#include "dns/testing_packets.hpp"
#include "proxy/reporter.hpp"

namespace dnsfence::proxy {
namespace {

const std::vector<std::uint8_t> kKey(32, 0x42);

class FakeSink final : public ReportSink {
 public:
  bool post(const std::string& path, const std::string& body) noexcept override {
    paths.push_back(path);
    bodies.push_back(body);
    return up;
  }
  bool up = true;
  std::vector<std::string> paths;
  std::vector<std::string> bodies;
};

class ReporterTest : public ::testing::Test {
 protected:
  ReporterTest()
      : rules_(policy::RuleSet::compile(common::parse_config(
            "[serve]\nupstreams = [\"10.64.0.53\"]\nmode = \"tproxy\"\ntproxy_listen = [\"0.0.0.0:5300\"]\n"
            "[allowlist]\naddresses = [\"198.51.100.53\"]\n",
            "t.toml"))),
        pipeline_(rules_.get()),
        queue_(*dns::Name::from_text("leak.test"), 4) {
    config_.enabled = true;
    config_.reporter = "vpn-1";
    config_.key = kKey;
  }

  // Runs one query through the pipeline and offers it, as the worker does.
  bool offer(std::string_view name, const char* destination, dns::Transport t = dns::Transport::Udp) {
    packets_.push_back(dns::testing::query(name, dns::rrtype::A, 1232));
    Query q{packets_.back(), t, std::nullopt};
    if (destination != nullptr) q.original_destination = common::IpAddress::parse(destination).value();
    Reply r{buffer_};
    const Decision d = pipeline_.handle(q, r);
    return queue_.offer(q, d);
  }

  std::shared_ptr<const policy::RuleSet> rules_;
  Pipeline pipeline_;
  ReportQueue queue_;
  common::WitnessReporting config_;
  std::vector<std::vector<std::uint8_t>> packets_;
  std::array<std::uint8_t, 4096> buffer_{};
};

TEST_F(ReporterTest, OnlyNamesUnderTheZoneWithAnOriginalDestination) {
  EXPECT_TRUE(offer("abcd.leak.test", "203.0.113.53"));
  EXPECT_TRUE(offer("delay-600.ABCD.Leak.Test", "100.64.53.53"));
  EXPECT_TRUE(offer("leak.test", "203.0.113.53"));
  EXPECT_FALSE(offer("www.example", "203.0.113.53")) << "any other name is never reported";
  EXPECT_FALSE(offer("abcd.evil-leak.test", "203.0.113.53")) << "label-wise, not a string suffix";
  EXPECT_FALSE(offer("abcd.leak.test", nullptr)) << "redirect mode: the destination is unknown";
  EXPECT_EQ(queue_.offered(), 3U);
  std::vector<Sighting> out;
  ASSERT_EQ(queue_.drain(out, 10), 3U);
  EXPECT_EQ(out[1].destination.to_string(), "100.64.53.53");
  EXPECT_EQ(out[1].destination_class, policy::DestinationClass::Private);
  EXPECT_EQ(out[0].destination_class, policy::DestinationClass::Public);
  EXPECT_EQ(out[0].action, Action::Forward);
  EXPECT_GT(out[0].unix_ms, 1'700'000'000'000);
}

TEST_F(ReporterTest, AFullRingDropsAndCounts) {
  for (int i = 0; i < 6; ++i) offer("p" + std::to_string(i) + ".leak.test", "203.0.113.53");
  EXPECT_EQ(queue_.offered(), 6U);
  EXPECT_EQ(queue_.dropped(), 2U);
  std::vector<Sighting> out;
  EXPECT_EQ(queue_.drain(out, 2), 2U);
  EXPECT_EQ(out[0].name.to_text(), "p0.leak.test.") << "oldest first";
  EXPECT_TRUE(offer("p6.leak.test", "203.0.113.53")) << "room again after a drain";
  EXPECT_EQ(queue_.drain(out, 10), 3U);
  EXPECT_EQ(out.back().name.to_text(), "p6.leak.test.");
}

TEST_F(ReporterTest, OfferingAllocatesNothing) {
  auto probe = dns::testing::query("abcd.leak.test", dns::rrtype::A, 1232);
  auto other = dns::testing::query("www.example", dns::rrtype::A, 1232);
  const auto dest = common::IpAddress::parse("203.0.113.53").value();
  std::vector<Sighting> out;
  out.reserve(8);
  dnsfence::testing::alloc_counting = true;
  for (int i = 0; i < 100; ++i) {
    for (const auto* p : {&probe, &other}) {
      const Query q{*p, dns::Transport::Udp, dest};
      Reply r{buffer_};
      const Decision d = pipeline_.handle(q, r);
      queue_.offer(q, d);
    }
    out.clear();
    queue_.drain(out, 8);
  }
  dnsfence::testing::alloc_counting = false;
  EXPECT_EQ(dnsfence::testing::allocations.load(), 0);
  EXPECT_EQ(queue_.offered(), 100U);
}

TEST_F(ReporterTest, SendsSignedBatchesTheWitnessCanRead) {
  offer("ABCD.leak.test", "203.0.113.53");
  offer("efgh.leak.test", "198.51.100.53", dns::Transport::Tcp);
  auto sink = std::make_unique<FakeSink>();
  FakeSink& s = *sink;
  Reporter reporter(config_, {&queue_}, std::move(sink));
  EXPECT_EQ(reporter.round(), 2U);
  ASSERT_EQ(s.bodies.size(), 1U);
  const std::string mac = s.paths[0].substr(s.paths[0].find("mac=") + 4);
  EXPECT_TRUE(s.paths[0].starts_with("/reports?reporter=vpn-1&mac="));
  EXPECT_TRUE(common::report_mac_valid(kKey, s.bodies[0], mac));
  auto batch = common::decode_batch(s.bodies[0]);
  ASSERT_TRUE(batch) << batch.error();
  ASSERT_EQ(batch->reports.size(), 2U);
  EXPECT_EQ(batch->reports[0].name, "abcd.leak.test") << "lowercase, no trailing dot";
  EXPECT_EQ(batch->reports[0].destination_class, "public");
  EXPECT_EQ(batch->reports[0].action, "redirected");
  EXPECT_EQ(batch->reports[1].destination_class, "allowlisted");
  EXPECT_EQ(batch->reports[1].action, "passed");
  EXPECT_EQ(batch->reports[1].transport, "tcp");
  EXPECT_EQ(reporter.sent(), 2U);
  EXPECT_EQ(reporter.round(), 0U);
  EXPECT_EQ(s.bodies.size(), 1U) << "nothing queued: no request";
}

TEST_F(ReporterTest, AWitnessAwayCostsTheBatchCountedNeverARetryBacklog) {
  auto sink = std::make_unique<FakeSink>();
  FakeSink& s = *sink;
  s.up = false;
  Reporter reporter(config_, {&queue_}, std::move(sink));
  offer("abcd.leak.test", "203.0.113.53");
  offer("efgh.leak.test", "203.0.113.53");
  EXPECT_EQ(reporter.round(), 0U);
  EXPECT_EQ(reporter.unreachable(), 2U);
  s.up = true;
  offer("ijkl.leak.test", "203.0.113.53");
  EXPECT_EQ(reporter.round(), 1U) << "only the new sighting: the lost batch is not resent";
  EXPECT_EQ(reporter.sent(), 1U);
  common::Exposition out;
  reporter.collect(out);
  const std::string m = out.text();
  EXPECT_NE(m.find("dnsfence_witness_reports_total{outcome=\"sent\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("dnsfence_witness_reports_total{outcome=\"dropped_unreachable\"} 2\n"), std::string::npos) << m;
  EXPECT_NE(m.find("dnsfence_witness_reports_total{outcome=\"dropped_full\"} 0\n"), std::string::npos) << m;
}

TEST_F(ReporterTest, ManyWorkersManyBatches) {
  ReportQueue big(*dns::Name::from_text("leak.test"), 1024);
  ReportQueue other(*dns::Name::from_text("leak.test"), 1024);
  for (int i = 0; i < 700; ++i) {
    packets_.push_back(dns::testing::query("p" + std::to_string(i) + ".leak.test", dns::rrtype::A, 1232));
    const Query q{packets_.back(), dns::Transport::Udp, common::IpAddress::parse("203.0.113.53").value()};
    Reply r{buffer_};
    const Decision d = pipeline_.handle(q, r);
    (i % 2 == 0 ? big : other).offer(q, d);
  }
  auto sink = std::make_unique<FakeSink>();
  FakeSink& s = *sink;
  Reporter reporter(config_, {&big, &other}, std::move(sink));
  EXPECT_EQ(reporter.round(), 700U);
  ASSERT_EQ(s.bodies.size(), 2U);
  EXPECT_EQ(common::decode_batch(s.bodies[0])->reports.size(), common::kMaxReportsPerBatch);
  EXPECT_EQ(common::decode_batch(s.bodies[1])->reports.size(), 700U - common::kMaxReportsPerBatch);
}

TEST_F(ReporterTest, TheThreadSendsWithinItsIntervalAndStops) {
  config_.interval = std::chrono::milliseconds(10);
  auto sink = std::make_unique<FakeSink>();
  FakeSink& s = *sink;
  Reporter reporter(config_, {&queue_}, std::move(sink));
  offer("abcd.leak.test", "203.0.113.53");
  reporter.start();
  reporter.stop();  // joins after one last round, so the sighting is sent by now
  EXPECT_EQ(reporter.sent(), 1U);
  EXPECT_EQ(s.bodies.size(), 1U);
}

}  // namespace
}  // namespace dnsfence::proxy
