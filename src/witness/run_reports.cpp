#include "witness/run_reports.hpp"

#include <algorithm>
#include <charconv>

namespace dnsfence::witness {
namespace {

// Splits "a|b|c" into exactly `n` fields; false if the count differs.
bool split(std::string_view line, std::size_t n, std::vector<std::string_view>& out) {
  out.clear();
  while (true) {
    const auto bar = line.find('|');
    out.push_back(line.substr(0, bar));
    if (bar == std::string_view::npos) break;
    line.remove_prefix(bar + 1);
  }
  return out.size() == n;
}

template <typename T>
bool number(std::string_view s, T& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string encode_report_line(const ReportObservation& o) {
  const auto& r = o.report;
  return std::to_string(o.probe) + "|" + r.destination.to_string() + "|" + r.destination_class + "|" + r.transport +
         "|" + r.action + "|" + o.reporter + "|" + std::to_string(r.unix_ms);
}

std::vector<ReportStats> merge_report_lines(const std::vector<std::string>& lines, std::uint64_t& dropped) {
  std::vector<ReportStats> out;
  std::vector<std::string_view> f;
  for (const auto& line : lines) {
    std::uint16_t probe = 0;
    std::int64_t ms = 0;
    if (!split(line, 7, f) || !number(f[0], probe) || !number(f[6], ms) || probe >= 1024) continue;
    auto ip = common::IpAddress::parse(f[1]);
    if (!ip) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const ReportStats& s) {
      return s.destination == *ip && s.action == f[4] && s.reporter == f[5];
    });
    if (it == out.end()) {
      if (out.size() >= kMaxReportDestinations) {
        ++dropped;
        continue;
      }
      ReportStats s;
      s.destination = *ip;
      s.destination_class = std::string(f[2]);
      s.action = std::string(f[4]);
      s.reporter = std::string(f[5]);
      s.first_ms = s.last_ms = ms;
      it = out.insert(out.end(), std::move(s));
    }
    it->first_ms = std::min(it->first_ms, ms);
    it->last_ms = std::max(it->last_ms, ms);
    ++it->count;
    (f[3] == "tcp" ? it->tcp : it->udp) = true;
    it->probes.set(probe);
  }
  return out;
}

}  // namespace dnsfence::witness
