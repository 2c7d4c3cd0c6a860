#include "witness/reports.hpp"

#include <algorithm>
#include <cstdlib>

namespace dnsfence::witness {
namespace {

// The value of `key` in "a=1&b=2", or empty.
std::string_view query_value(std::string_view query, std::string_view key) noexcept {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > key.size() && pair.starts_with(key) && pair[key.size()] == '=')
      return pair.substr(key.size() + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

}  // namespace

std::expected<Token, std::string_view> probe_token(const Keyring& keys, const dns::Name& zone,
                                                   std::string_view name) noexcept {
  std::string zone_text;
  try {
    zone_text = zone.to_text();
  } catch (...) {
    return std::unexpected("out of memory");
  }
  if (zone_text.ends_with('.')) zone_text.pop_back();
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.size() <= zone_text.size() + 1 || name[name.size() - zone_text.size() - 1] != '.' ||
      !iequals(name.substr(name.size() - zone_text.size()), zone_text))
    return std::unexpected("not under the zone");
  name = name.substr(0, name.size() - zone_text.size() - 1);
  // The child zones v4.<zone> and v6.<zone> hold probe names too.
  if (name.ends_with(".v4") || name.ends_with(".v6") || name.ends_with(".V4") || name.ends_with(".V6"))
    name.remove_suffix(3);
  const auto dot = name.rfind('.');
  const std::string_view label = dot == std::string_view::npos ? name : name.substr(dot + 1);
  // At most one behaviour label in front (noreply., servfail., delay-<ms>.), as the responder serves.
  if (dot != std::string_view::npos && name.substr(0, dot).find('.') != std::string_view::npos)
    return std::unexpected("too many labels before the token");
  auto token = verify_token(keys, std::span(reinterpret_cast<const std::uint8_t*>(label.data()), label.size()));
  if (!token) return std::unexpected(describe(token.error()));
  return *token;
}

std::expected<BatchResult, BatchError> accept_batch(std::span<const ReporterConfig> reporters, const Keyring& keys,
                                                    const dns::Name& zone, std::string_view query,
                                                    std::string_view body, const common::IpAddress& peer,
                                                    std::int64_t now_unix_ms) noexcept {
  const std::string_view name = query_value(query, "reporter");
  const std::string_view mac = query_value(query, "mac");
  if (name.empty() || mac.empty()) return std::unexpected(BatchError::Malformed);
  const auto r = std::find_if(reporters.begin(), reporters.end(), [&](const auto& c) { return c.name == name; });
  if (r == reporters.end()) return std::unexpected(BatchError::UnknownReporter);
  if (!r->sources.empty() &&
      std::none_of(r->sources.begin(), r->sources.end(), [&](const auto& p) { return p.contains(peer); }))
    return std::unexpected(BatchError::WrongSource);
  // The MAC before parsing: nobody without the key gets the JSON parser to read anything.
  if (!common::report_mac_valid(r->key, body, mac)) return std::unexpected(BatchError::BadMac);
  auto batch = common::decode_batch(body);
  if (!batch || batch->reporter != r->name) return std::unexpected(BatchError::Malformed);
  const auto skew = std::chrono::milliseconds(std::llabs(batch->sent_unix_ms - now_unix_ms));
  if (skew > common::kMaxReportSkew) return std::unexpected(BatchError::Stale);
  try {
    BatchResult out;
    for (auto& report : batch->reports) {
      auto token = probe_token(keys, zone, report.name);
      if (!token) {
        ++out.dropped;
        continue;
      }
      out.accepted.push_back({*token, r->name, std::move(report)});
    }
    return out;
  } catch (...) {
    return std::unexpected(BatchError::Malformed);  // out of memory: refuse the batch whole
  }
}

std::string_view describe(BatchError e) noexcept {
  switch (e) {
    case BatchError::Malformed:
      return "malformed report batch";
    case BatchError::UnknownReporter:
      return "unknown reporter";
    case BatchError::WrongSource:
      return "reporter not allowed from this address";
    case BatchError::BadMac:
      return "bad signature";
    case BatchError::Stale:
      return "batch sent too long ago (or the clocks differ by more than 5 minutes)";
  }
  return "?";
}

}  // namespace dnsfence::witness
