#pragma once
// What the witness's public HTTP listener answers for the browser leak test, besides the run API:
//   GET /, /page.css, /page.js      the page (witness/page.hpp), with its security headers
//   GET any path, Host: <probe name> the probe answer a page fetches to make the browser resolve a
//                                    probe name: {"probe": "<host>"}, readable by any origin with
//                                    its timing (CORS, Timing-Allow-Origin); only for authentic
//                                    probe names of the zone
//   POST /reports?reporter=&mac=     a VPN server's probe report batch (witness/reports.hpp)
// Control plane: allocates; every failure is an HTTP error, never an exception.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "dns/name.hpp"
#include "io/http.hpp"
#include "witness/reports.hpp"
#include "witness/token.hpp"

namespace dnsfence::witness {

struct PageContext {
  const Key& key;
  const dns::Name& zone;
  std::span<const ReporterConfig> reporters;
  /// Keeps the reports of an accepted batch with their runs; returns how many it kept (reports of
  /// unknown or expired runs are not).
  std::function<std::size_t(std::vector<AcceptedReport>)> keep;
  /// The witness's clock, milliseconds since the Unix epoch.
  std::function<std::int64_t()> now_ms;
};

/// The response if `req` is one of the routes above; nullopt if it is not (the API answers it).
std::optional<io::http::Response> page_route(const PageContext& ctx, const io::http::Request& req);

}  // namespace dnsfence::witness
