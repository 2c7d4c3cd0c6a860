#pragma once
// What the witness's public HTTP listener answers for the browser leak test, besides the run API:
//   GET /, /page.css, /page.js      the page (witness/page.hpp), with its security headers
//   any request with Host: <name below the zone>
//                                    a probe fetch: 200 {"probe": "<host>"} for an authentic probe
//                                    name (the page checks it reached this witness), 404 otherwise;
//                                    readable by any origin with its timing (CORS and
//                                    Timing-Allow-Origin, which Resource Timing needs); OPTIONS too
//   POST /reports?reporter=&mac=     a VPN server's probe report batch (witness/reports.hpp), kept
//                                    with its runs in the store
// Control plane: allocates; every failure is an HTTP error, never an exception.

#include <span>

#include "dns/name.hpp"
#include "io/http_server.hpp"
#include "witness/reports.hpp"
#include "witness/responder.hpp"
#include "witness/store.hpp"
#include "witness/token.hpp"

namespace dnsfence::witness {

struct PageContext {
  const Keyring& keys;
  const ZoneConfig& zone;
  std::span<const ReporterConfig> reporters;
  Store& store;
  const Clock& clock;
};

/// True if `req` is one of the routes above: `reply` has been called, or will be once the store
/// answers. False: the request is the API's, and `reply` is untouched.
bool page_route(const PageContext& ctx, const io::http::Request& req, const io::http::Reply& reply);

/// The reports of an accepted batch as the store keeps them.
std::vector<ReportObservation> observations(std::vector<AcceptedReport> accepted);

}  // namespace dnsfence::witness
