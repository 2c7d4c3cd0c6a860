#pragma once
// The witness's side of probe reports (common/probe_report.hpp): which batches it believes, and
// which reports in them it keeps. A batch must come from a configured reporter, from one of its
// source prefixes when it has any, be signed with its key (HMAC over the exact body) and be sent
// within kMaxReportSkew of the witness's clock. Inside an accepted batch, a report is kept only if
// its name is a probe name of this zone with an authentic token (behaviour labels and the v4./v6.
// children allowed); anything else is counted and dropped, never stored. No I/O.

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/probe_report.hpp"
#include "dns/name.hpp"
#include "witness/token.hpp"

namespace dnsfence::witness {

/// A VPN server allowed to report (`[[witness.reporters]]`).
struct ReporterConfig {
  std::string name;                     // as it signs its batches
  std::vector<std::uint8_t> key;        // its HMAC key (at least kMinReporterKeyBytes)
  std::vector<common::Prefix> sources;  // addresses it may report from; empty: any
};

/// A report the witness keeps, with the token its name carries.
struct AcceptedReport {
  Token token;
  std::string reporter;
  common::ProbeReport report;
};

enum class BatchError : std::uint8_t {
  Malformed,        // no reporter or mac in the query, or a body that does not decode: HTTP 400
  UnknownReporter,  // not configured: 403
  WrongSource,      // from an address outside the reporter's sources: 403
  BadMac,           // not signed by the reporter's key: 403
  Stale,            // `sent` too far from the witness's clock: 403
};

struct BatchResult {
  std::vector<AcceptedReport> accepted;
  std::size_t dropped = 0;  // reports whose name is not an authentic probe name of the zone
};

/// Checks one POST /reports request: `query` is the target's query string
/// ("reporter=NAME&mac=HEX"), `peer` the sender. Never throws.
std::expected<BatchResult, BatchError> accept_batch(std::span<const ReporterConfig> reporters, const Keyring& keys,
                                                    const dns::Name& zone, std::string_view query,
                                                    std::string_view body, const common::IpAddress& peer,
                                                    std::int64_t now_unix_ms) noexcept;

/// The token of a probe name under `zone` ("noreply.<token>.<zone>", "<token>.v4.<zone>", ...),
/// if it has an authentic one. Never throws.
std::expected<Token, std::string_view> probe_token(const Keyring& keys, const dns::Name& zone,
                                                   std::string_view name) noexcept;

/// "malformed", "unknown reporter", ...: the reason sent back in the HTTP error.
std::string_view describe(BatchError e) noexcept;

}  // namespace dnsfence::witness
