// The public listener's browser routes, as requests: the page, probe-host answers (CORS and
// Timing-Allow-Origin only for authentic probe names), and report batches from VPN servers.
#include "witness/page_routes.hpp"

#include <gtest/gtest.h>

namespace dnsfence::witness {
namespace {

constexpr std::int64_t kNow = 1767268800000;

class PageRoutesTest : public ::testing::Test {
 protected:
  PageRoutesTest() : key_(std::vector<std::uint8_t>(32, 7)), zone_(*dns::Name::from_text("leak.test")) {
    reporters_.push_back({"vpn-1", std::vector<std::uint8_t>(32, 1), {}});
    run_ = RunId::random();
  }
  PageContext ctx() {
    return {key_, zone_, reporters_,
            [this](std::vector<AcceptedReport> r) {
              kept_.insert(kept_.end(), r.begin(), r.end());
              return r.size();
            },
            [] { return kNow; }};
  }
  static io::http::Request get(std::string host, std::string path) {
    io::http::Request r;
    r.method = "GET";
    r.host = std::move(host);
    r.path = std::move(path);
    r.target = r.path;
    r.peer = *common::SocketAddress::parse("198.51.100.9:40000");
    return r;
  }
  static std::string header(const io::http::Response& r, std::string_view name) {
    for (const auto& h : r.headers)
      if (h.name == name) return h.value;
    return "";
  }
  std::string token(std::uint16_t probe) const { return encode_token(key_, Token{run_, probe}); }

  Key key_;
  dns::Name zone_;
  RunId run_;
  std::vector<ReporterConfig> reporters_;
  std::vector<AcceptedReport> kept_;
};

TEST_F(PageRoutesTest, ServesThePageWithItsPolicy) {
  auto r = page_route(ctx(), get("192.0.2.80", "/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
  EXPECT_NE(r->body.find("DNS leak test"), std::string::npos);
  EXPECT_NE(header(*r, "Content-Security-Policy").find("http://*.leak.test:*"), std::string::npos);
  EXPECT_EQ(header(*r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(page_route(ctx(), get("192.0.2.80", "/page.js"))->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(page_route(ctx(), get("192.0.2.80", "/favicon.ico"))->status, 204);
  EXPECT_FALSE(page_route(ctx(), get("192.0.2.80", "/runs"))) << "the API's";
  EXPECT_FALSE(page_route(ctx(), get("192.0.2.80", "/healthz")));
}

TEST_F(PageRoutesTest, AnswersAuthenticProbeHostsForAnyOrigin) {
  for (const std::string& host : {token(1) + ".leak.test", "delay-600." + token(2) + ".leak.test"}) {
    auto r = page_route(ctx(), get(host, "/probe"));
    ASSERT_TRUE(r) << host;
    EXPECT_EQ(r->status, 200) << host;
    EXPECT_EQ(r->body, "{\"probe\":\"" + host + "\"}\n");
    EXPECT_EQ(header(*r, "Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(header(*r, "Timing-Allow-Origin"), "*");
    EXPECT_EQ(header(*r, "Cache-Control"), "no-store");
  }
}

TEST_F(PageRoutesTest, RefusesHostsUnderTheZoneThatAreNoProbe) {
  EXPECT_EQ(page_route(ctx(), get("abcdefghijklmnopqrstuvwxyz234567.leak.test", "/probe"))->status, 404);
  EXPECT_EQ(page_route(ctx(), get("leak.test", "/"))->status, 404) << "the zone itself serves no page";
  EXPECT_EQ(header(*page_route(ctx(), get("www.leak.test", "/")), "Access-Control-Allow-Origin"), "");
  auto post = get(token(1) + ".leak.test", "/probe");
  post.method = "POST";
  EXPECT_EQ(page_route(ctx(), post)->status, 405);
}

TEST_F(PageRoutesTest, KeepsReportsOfAValidBatch) {
  common::ReportBatch b{"vpn-1", kNow, {}};
  b.reports.push_back(
      {token(3) + ".leak.test", *common::IpAddress::parse("100.64.53.53"), "private", "udp", "redirected", kNow});
  b.reports.push_back({"www.example", *common::IpAddress::parse("100.64.53.53"), "private", "udp", "redirected", kNow});
  auto req = get("192.0.2.53", "/reports");
  req.method = "POST";
  req.body = common::encode_batch(b);
  const std::string path = common::report_path("vpn-1", std::vector<std::uint8_t>(32, 1), req.body);
  req.query = path.substr(path.find('?') + 1);
  auto r = page_route(ctx(), req);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "{\"kept\":1,\"not_probe_names\":1,\"unknown_run\":0}\n");
  ASSERT_EQ(kept_.size(), 1U);
  EXPECT_EQ(kept_[0].token.probe, 3);

  req.body[req.body.find("100.64")] = '9';
  EXPECT_EQ(page_route(ctx(), req)->status, 403) << "altered after signing";
  req.query = "reporter=vpn-1";
  EXPECT_EQ(page_route(ctx(), req)->status, 400);
  req.method = "GET";
  EXPECT_EQ(page_route(ctx(), req)->status, 405);
}

}  // namespace
}  // namespace dnsfence::witness
