#pragma once
// Route lookups: which interface and source address the kernel would pick for a DNS packet to an
// address. Behind RouteOracle so that other platforms (and tests) can provide their own.

#include <memory>

#include "detector/model.hpp"

namespace dnsfence::detector {

/// Answers "where would a DNS packet to this address go?".
class RouteOracle {
 public:
  virtual ~RouteOracle() = default;
  /// The route for a packet to `destination` port `port` (UDP) carrying `mark` (0: no fwmark, as
  /// an application's socket). Never throws: a failed lookup has `error` set.
  virtual RouteFact lookup(const IpAddress& destination, std::uint16_t port, std::uint32_t mark) = 0;
};

/// Linux: RTM_GETROUTE over rtnetlink (libmnl) with RTA_DST, RTA_MARK, RTA_IP_PROTO and RTA_DPORT,
/// so policy rules (wg-quick's `not fwmark ... table ...`, suppress_prefixlength) are honoured.
std::unique_ptr<RouteOracle> make_netlink_route_oracle();

}  // namespace dnsfence::detector
