#include "detector/witness_client.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "detector/classify.hpp"

namespace dnsfence::detector {
namespace {

using nlohmann::json;

class HttpWitness final : public WitnessClient {
 public:
  HttpWitness(std::string base, std::chrono::milliseconds timeout) : base_(std::move(base)), client_(base_) {
    const auto sec = timeout.count() / 1000;
    const auto usec = (timeout.count() % 1000) * 1000;
    client_.set_connection_timeout(sec, usec);
    client_.set_read_timeout(sec, usec);
    client_.set_write_timeout(sec, usec);
    if (!client_.is_valid()) throw std::runtime_error("witness " + base_ + ": not a usable http:// URL");
  }

  WitnessRun create_run(std::size_t count) override {
    const json body{{"count", count}};
    auto res = client_.Post("/runs", body.dump(), "application/json");
    WitnessRun run = parse_run(check(res, "POST /runs"));
    if (run.probes.size() < count) {
      throw std::runtime_error("witness " + base_ + ": asked for " + std::to_string(count) + " probe names, got " +
                               std::to_string(run.probes.size()));
    }
    return run;
  }

  WitnessResults results(const WitnessRun& run) override {
    auto res = client_.Get("/runs/" + run.id);
    return parse_results(check(res, "GET /runs/" + run.id), run.answers);
  }

 private:
  std::string check(const httplib::Result& res, const std::string& what) {
    if (!res) throw std::runtime_error("witness " + base_ + ": " + what + ": " + httplib::to_string(res.error()));
    if (res->status != 200 && res->status != 201) {
      throw std::runtime_error("witness " + base_ + ": " + what + ": HTTP " + std::to_string(res->status));
    }
    return res->body;
  }
  std::string base_;
  httplib::Client client_;
};

}  // namespace

WitnessRun parse_run(const std::string& body) {
  const json j = json::parse(body);
  WitnessRun run{j.at("run").get<std::string>(), {}, j.value("answers", std::vector<std::string>{})};
  for (const auto& p : j.at("probes")) run.probes.push_back(normalize_name(p.get<std::string>()));
  return run;
}

WitnessResults parse_results(const std::string& body, const std::vector<std::string>& served) {
  const json j = json::parse(body);
  WitnessResults w{{}, j.value("answers", served)};
  for (const auto& r : j.at("resolvers")) {
    auto a = IpAddress::parse(r.at("address").get<std::string>());
    if (!a) throw std::runtime_error("witness result: " + a.error());
    WitnessResolver wr{*a, {}};
    for (const auto& n : r.value("names", json::array())) wr.names.push_back(normalize_name(n.get<std::string>()));
    w.resolvers.push_back(std::move(wr));
  }
  return w;
}

WitnessRun FakeWitness::create_run(std::size_t count) {
  if (run_.probes.size() < count) throw std::runtime_error("fake witness: not enough probe names");
  return run_;
}

std::unique_ptr<WitnessClient> make_http_witness(const std::string& base_url, std::chrono::milliseconds timeout) {
  return std::make_unique<HttpWitness>(base_url, timeout);
}

}  // namespace dnsfence::detector
