#pragma once
// What VPN servers reported of a run's probe names (issue 16: stealth by evidence), as the stores
// keep it: one ReportStats per destination address, reporter and action, merged from report
// observations. Both stores keep observations in the same compact line form (bounded per run) and
// merge them when a run is read, so the memory and the Redis store show the same thing.

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/probe_report.hpp"
#include "witness/token.hpp"

namespace dnsfence::witness {

/// Reports kept per run (the oldest go first): a page's four names asked as A, AAAA and HTTPS,
/// with retries, several times over; bounded so 1000 live runs hold at most ~4 MiB of them.
inline constexpr std::size_t kMaxReportsPerRun = 64;
/// Distinct destinations shown per run; beyond it they are counted in reports_dropped.
inline constexpr std::size_t kMaxReportDestinations = 16;

/// One accepted report of one probe name of a run.
struct ReportObservation {
  RunId run;
  std::uint16_t probe = 0;
  std::string reporter;
  common::ProbeReport report;
};

/// A destination as the VPN servers reported it for a run.
struct ReportStats {
  common::IpAddress destination;
  std::string destination_class;  // "provider", "allowlisted", "private", "public"
  std::string action;             // "redirected", "passed", "refused", "answered"
  std::string reporter;
  bool udp = false;
  bool tcp = false;
  std::int64_t first_ms = 0;  // serve's time of the first query, ms since the Unix epoch
  std::int64_t last_ms = 0;
  std::uint64_t count = 0;
  std::bitset<1024> probes;  // the probe numbers reported
};

/// "probe|destination|class|transport|action|reporter|ms": one observation as a store keeps it.
std::string encode_report_line(const ReportObservation& o);
/// Merges stored lines, in order, into per-destination stats (at most kMaxReportDestinations;
/// `dropped` counts the lines of further destinations). Malformed lines are skipped.
std::vector<ReportStats> merge_report_lines(const std::vector<std::string>& lines, std::uint64_t& dropped);

}  // namespace dnsfence::witness
