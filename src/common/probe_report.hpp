#pragma once
// The contract between `dnsfence serve` and the witness for probe reports: what a VPN server saw
// of the queries under the witness zone it intercepted (the address the client really asked, its
// class, the transport, what serve did), sent in batches as JSON in the body of
//   POST /reports?reporter=NAME&mac=HEX        mac = HMAC-SHA256(the reporter's key, body)
// The witness accepts a batch only from a configured reporter whose key signed exactly that body,
// sent within kMaxReportSkew of its clock, and keeps a report only for an authentic probe token of
// a live run. Control plane on both sides (allocates); bounded.

#include <chrono>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"

namespace dnsfence::common {

inline constexpr std::size_t kMaxReportsPerBatch = 512;
inline constexpr std::size_t kMaxReportBody = 256 * std::size_t{1024};
inline constexpr std::size_t kMinReporterKeyBytes = 16;
/// A batch whose `sent` differs more than this from the witness's clock is refused (a replay
/// window; reports are idempotent facts, so a replay inside it adds nothing new).
inline constexpr std::chrono::seconds kMaxReportSkew{300};

/// One query under the witness zone as serve saw it.
struct ProbeReport {
  std::string name;               // the question name, lowercase, without the trailing dot
  IpAddress destination;          // the address the client sent it to (tproxy's original destination)
  std::string destination_class;  // "provider", "allowlisted", "private", "public"
  std::string transport;          // "udp", "tcp"
  std::string action;             // "redirected" (to the upstreams), "passed", "refused", "answered"
  std::int64_t unix_ms = 0;       // when serve received it
};

struct ReportBatch {
  std::string reporter;  // the reporter's configured name
  std::int64_t sent_unix_ms = 0;
  std::vector<ProbeReport> reports;
};

/// The batch as the JSON body of POST /reports.
std::string encode_batch(const ReportBatch& batch);
/// Parses a body; fails with a reason on malformed JSON, a missing or mistyped field, a value
/// outside its closed set, or more than kMaxReportsPerBatch reports. Never throws.
std::expected<ReportBatch, std::string> decode_batch(std::string_view body) noexcept;

/// HMAC-SHA256(key, data) (libgcrypt). Throws std::runtime_error if libgcrypt fails.
std::vector<std::uint8_t> hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);
/// The path to POST a signed batch to: "/reports?reporter=NAME&mac=HEX".
std::string report_path(std::string_view reporter, std::span<const std::uint8_t> key, std::string_view body);
/// Whether `mac_hex` is HMAC-SHA256(key, body), compared in constant time. Never throws.
bool report_mac_valid(std::span<const std::uint8_t> key, std::string_view body, std::string_view mac_hex) noexcept;

/// A reporter's name: 1 to 64 of [A-Za-z0-9._-].
bool valid_reporter_name(std::string_view name) noexcept;

}  // namespace dnsfence::common
