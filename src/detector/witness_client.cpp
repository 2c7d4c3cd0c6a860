#include "detector/witness_client.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "detector/classify.hpp"
#include "io/http.hpp"

namespace dnsfence::detector {
namespace {

using nlohmann::json;

class HttpWitness final : public WitnessClient {
 public:
  HttpWitness(std::string base, std::chrono::milliseconds timeout) : base_(std::move(base)), timeout_(timeout) {
    if (base_.starts_with("https://")) throw std::runtime_error("witness " + base_ + ": only http:// is supported");
  }

  WitnessRun create_run(std::size_t count) override {
    const json body{{"count", count}};
    return parse_run(call("POST", "/runs", body.dump()));
  }

  WitnessResults results(const WitnessRun& run) override {
    return parse_results(call("GET", "/runs/" + run.id, {}), run.answers);
  }

 private:
  std::string call(std::string_view method, const std::string& path, const std::string& body) {
    auto res = io::http::request(base_, method, path, body, timeout_);
    const std::string what = std::string(method) + " " + path;
    if (!res) throw std::runtime_error("witness " + base_ + ": " + what + ": " + res.error());
    if (res->status != 200 && res->status != 201) {
      // The witness says why in {"error": "..."} (e.g. a count above its max_probes_per_run).
      const json j = json::parse(res->body, nullptr, false);
      const std::string why =
          j.is_object() && j.contains("error") && j["error"].is_string() ? ": " + j["error"].get<std::string>() : "";
      throw std::runtime_error("witness " + base_ + ": " + what + ": HTTP " + std::to_string(res->status) + why);
    }
    return res->body;
  }
  std::string base_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

WitnessRun parse_run(const std::string& body) {
  const json j = json::parse(body);
  WitnessRun run{j.at("run").get<std::string>(), {}, j.value("answers", std::vector<std::string>{})};
  for (const auto& p : j.at("probes")) run.probes.push_back(normalize_name(p.get<std::string>()));
  return run;
}

WitnessReport parse_report(const json& r) {
  auto a = IpAddress::parse(r.at("destination").get<std::string>());
  if (!a) throw std::runtime_error("witness report: " + a.error());
  WitnessReport out{*a,
                    r.value("class", ""),
                    r.value("action", ""),
                    r.value("reporter", ""),
                    r.value("role", ""),
                    r.value("transports", std::vector<std::string>{}),
                    {}};
  for (const auto& n : r.value("names", json::array())) out.names.push_back(normalize_name(n.get<std::string>()));
  return out;
}

WitnessResults parse_results(const std::string& body, const std::vector<std::string>& served) {
  const json j = json::parse(body);
  WitnessResults w{{}, j.value("answers", served), j.value("incomplete", false), {}};
  for (const auto& r : j.at("resolvers")) {
    auto a = IpAddress::parse(r.at("address").get<std::string>());
    if (!a) throw std::runtime_error("witness result: " + a.error());
    WitnessResolver wr{*a, {}};
    for (const auto& n : r.value("names", json::array())) wr.names.push_back(normalize_name(n.get<std::string>()));
    w.resolvers.push_back(std::move(wr));
  }
  for (const auto& r : j.value("reports", json::array())) w.reports.push_back(parse_report(r));
  return w;
}

WitnessRun FakeWitness::create_run(std::size_t count) {
  asked_.push_back(count);
  if (fail_create_) throw std::runtime_error("fake witness: POST /runs: HTTP 503");
  return run_;
}

std::unique_ptr<WitnessClient> make_http_witness(const std::string& base_url, std::chrono::milliseconds timeout) {
  return std::make_unique<HttpWitness>(base_url, timeout);
}

}  // namespace dnsfence::detector
