#pragma once
// One leak-test run: inventory, route lookups, capture while probing, witness results. Every
// platform-specific part comes in through an interface, so the sequence is the same everywhere.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "detector/capture.hpp"
#include "detector/inventory.hpp"
#include "detector/model.hpp"
#include "detector/routes.hpp"
#include "detector/witness_client.hpp"

namespace dnsfence::detector {

/// What the user asked for.
struct RunOptions {
  std::string tunnel;                    // --tunnel ("" = detect)
  std::vector<IpAddress> extra;          // --resolver: probed as if configured
  std::vector<IpAddress> trusted;        // --trusted
  std::vector<IpAddress> vpn_resolvers;  // --vpn-resolver
  std::vector<IpAddress> public_resolvers;
  std::string zone = "leaktest.dnsfence.example";  // probe zone without a witness
  std::chrono::milliseconds system_timeout{3000};
  std::chrono::milliseconds direct_timeout{1500};
  std::chrono::milliseconds settle{300};  // late packets after the last probe
};

/// The collaborators of a run. `witness` may be null.
struct Collaborators {
  const std::vector<std::unique_ptr<InventorySource>>* sources = nullptr;
  RouteOracle* routes = nullptr;
  PacketSource* capture = nullptr;
  WitnessClient* witness = nullptr;
};

/// How many unique probe names a run needs: one for getaddrinfo, four per directly probed resolver
/// (UDP and TCP, A and AAAA), one per --public resolver. A witness must hand out at least as many
/// (`probes_per_run`).
constexpr std::size_t probe_count(std::size_t direct, std::size_t publics) noexcept {
  return 1 + 4 * direct + publics;
}

/// Gathers the facts for the classifier. Never throws for a failing part (capture, witness,
/// lookups): each failure is recorded in the facts and becomes INCONCLUSIVE evidence. Every wait
/// is bounded by the options and listed in Facts::waits.
Facts gather(const RunOptions& opt, const Collaborators& with);

}  // namespace dnsfence::detector
