#include "common/probe_report.hpp"

#include <gcrypt.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/hex.hpp"

namespace dnsfence::common {
namespace {

constexpr std::array<std::string_view, 4> kClasses = {"provider", "allowlisted", "private", "public"};
constexpr std::array<std::string_view, 2> kTransports = {"udp", "tcp"};
constexpr std::array<std::string_view, 4> kActions = {"redirected", "passed", "refused", "answered"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& set, const std::string& v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

// libgcrypt, as the witness's tokens use (already mapped through libsystemd; no libcrypto).
bool gcrypt_ready() noexcept {
  static const bool ready = [] {
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) return false;
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P) == 0) {
      gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
      gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    return true;
  }();
  return ready;
}

ProbeReport decode_one(const nlohmann::json& j) {
  ProbeReport r;
  r.name = j.at("name").get<std::string>();
  auto ip = IpAddress::parse(j.at("destination").get<std::string>());
  if (!ip) throw std::invalid_argument("destination: " + ip.error());
  r.destination = *ip;
  r.destination_class = j.at("class").get<std::string>();
  r.transport = j.at("transport").get<std::string>();
  r.action = j.at("action").get<std::string>();
  r.unix_ms = j.at("time").get<std::int64_t>();
  if (r.name.empty() || r.name.size() > 253) throw std::invalid_argument("name: empty or longer than 253");
  if (!one_of(kClasses, r.destination_class)) throw std::invalid_argument("class: " + r.destination_class);
  if (!one_of(kTransports, r.transport)) throw std::invalid_argument("transport: " + r.transport);
  if (!one_of(kActions, r.action)) throw std::invalid_argument("action: " + r.action);
  return r;
}

}  // namespace

std::string encode_batch(const ReportBatch& batch) {
  nlohmann::json reports = nlohmann::json::array();
  for (const auto& r : batch.reports) {
    reports.push_back({{"name", r.name},
                       {"destination", r.destination.to_string()},
                       {"class", r.destination_class},
                       {"transport", r.transport},
                       {"action", r.action},
                       {"time", r.unix_ms}});
  }
  return nlohmann::json{{"reporter", batch.reporter}, {"sent", batch.sent_unix_ms}, {"reports", reports}}.dump();
}

std::expected<ReportBatch, std::string> decode_batch(std::string_view body) noexcept {
  try {
    if (body.size() > kMaxReportBody) return std::unexpected("body larger than " + std::to_string(kMaxReportBody));
    const auto j = nlohmann::json::parse(body);
    ReportBatch b;
    b.reporter = j.at("reporter").get<std::string>();
    b.sent_unix_ms = j.at("sent").get<std::int64_t>();
    const auto& reports = j.at("reports");
    if (!reports.is_array()) return std::unexpected("reports: not an array");
    if (reports.size() > kMaxReportsPerBatch)
      return std::unexpected("more than " + std::to_string(kMaxReportsPerBatch) + " reports");
    for (const auto& r : reports) b.reports.push_back(decode_one(r));
    if (!valid_reporter_name(b.reporter)) return std::unexpected("reporter: not a valid name");
    return b;
  } catch (const std::exception& e) {
    return std::unexpected(std::string("malformed report batch: ") + e.what());
  }
}

std::vector<std::uint8_t> hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
  std::vector<std::uint8_t> out(32);
  std::size_t length = out.size();
  gcry_mac_hd_t h = nullptr;
  if (!gcrypt_ready() || gcry_mac_open(&h, GCRY_MAC_HMAC_SHA256, 0, nullptr) != 0)
    throw std::runtime_error("HMAC-SHA256 unavailable");
  const bool ok = gcry_mac_setkey(h, key.data(), key.size()) == 0 && gcry_mac_write(h, data.data(), data.size()) == 0 &&
                  gcry_mac_read(h, out.data(), &length) == 0 && length == out.size();
  gcry_mac_close(h);
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed");
  return out;
}

std::string report_path(std::string_view reporter, std::span<const std::uint8_t> key, std::string_view body) {
  return "/reports?reporter=" + std::string(reporter) + "&mac=" + to_hex(hmac_sha256(key, body), 0);
}

bool report_mac_valid(std::span<const std::uint8_t> key, std::string_view body, std::string_view mac_hex) noexcept {
  try {
    const auto want = hmac_sha256(key, body);
    if (mac_hex.size() != want.size() * 2) return false;
    std::uint8_t diff = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const int hi = hex_value(mac_hex[2 * i]);
      const int lo = hex_value(mac_hex[2 * i + 1]);
      if (hi < 0 || lo < 0) return false;
      diff = static_cast<std::uint8_t>(diff | (want[i] ^ static_cast<std::uint8_t>((hi << 4) | lo)));
    }
    return diff == 0;
  } catch (...) {
    return false;
  }
}

bool valid_reporter_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

}  // namespace dnsfence::common
