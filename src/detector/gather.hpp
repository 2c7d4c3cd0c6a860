#pragma once
// One leak-test run: inventory, route lookups, capture while probing, witness results. Every
// platform-specific part comes in through an interface, so the sequence is the same everywhere.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "detector/capture.hpp"
#include "detector/inventory.hpp"
#include "detector/model.hpp"
#include "detector/probes.hpp"
#include "detector/routes.hpp"
#include "detector/witness_client.hpp"

namespace dnsfence::detector {

/// What the user asked for.
struct RunOptions {
  std::string tunnel;                    // --tunnel ("" = detect)
  std::vector<IpAddress> extra;          // --resolver: probed as if configured
  std::vector<IpAddress> trusted;        // --trusted
  std::vector<IpAddress> vpn_resolvers;  // --vpn-resolver: probed too (its egress at the authority)
  std::vector<IpAddress> public_resolvers;
  std::string zone = "leaktest.dnsfence.example";  // probe zone without a witness
  std::chrono::milliseconds system_timeout{3000};
  std::chrono::milliseconds direct_timeout{1500};
  std::chrono::milliseconds settle{300};  // late packets after the last probe
};

/// Sends every probe of a plan and returns their results (run_probes; tests pass a fake).
using ProbeRunner = std::function<std::vector<ProbeResult>(const ProbePlan&)>;

/// The collaborators of a run. `witness` may be null; `probe` null means run_probes.
struct Collaborators {
  const std::vector<std::unique_ptr<InventorySource>>* sources = nullptr;
  RouteOracle* routes = nullptr;
  PacketSource* capture = nullptr;
  WitnessClient* witness = nullptr;
  ProbeRunner probe;
};

/// How many unique probe names a run needs: one for getaddrinfo, four per directly probed resolver
/// (UDP and TCP, A and AAAA), four more per VPN resolver (its egress addresses at the authority are
/// the yardstick for interception: more names show more of a pool), one per --public resolver.
/// leaktest asks the witness for exactly this many (`POST /runs {"count": N}`).
constexpr std::size_t probe_count(std::size_t direct, std::size_t vpn, std::size_t publics) noexcept {
  return 1 + 4 * direct + 4 * vpn + publics;
}

/// Gathers the facts for the classifier. Never throws for a failing part (capture, witness,
/// lookups): each failure is recorded in the facts and becomes INCONCLUSIVE evidence. Every wait
/// is bounded by the options and listed in Facts::waits. A witness that cannot hand out the names
/// the run needs (unreachable, an API error, fewer names than asked for) ends the run before any
/// probe, with Facts::witness_error saying why: never a fallback to a zone the witness is not for.
Facts gather(const RunOptions& opt, const Collaborators& with);

}  // namespace dnsfence::detector
