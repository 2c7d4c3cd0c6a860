#pragma once
// The classifier's shared view of one run (internal to classify*.cpp): the facts indexed once, the
// packets and probes per destination, and the helpers that turn them into findings.

#include <set>
#include <string>
#include <vector>

#include "detector/authority.hpp"
#include "detector/model.hpp"

namespace dnsfence::detector::detail {

bool contains(const std::vector<IpAddress>& v, const IpAddress& a);
/// A probe error that means the network refused the query actively (ICMP unreachable, TCP reset).
bool is_refusal(const std::string& error);
/// DoT (TCP 853) or DoQ (UDP 853): a flow whose names cannot be read.
bool encrypted(const Observation& o);
bool is_loopback(const IpAddress& a);

/// What the classifier knows about the run, computed once by make_context().
struct Context {
  const Facts& f;
  std::set<std::string> probe_names;
  std::vector<IpAddress> vpn;
  NameEvidence names;
  // A witness was given but could not be used: no verdict may rest on the authority's record.
  bool witness_failed = false;

  [[nodiscard]] bool in_tunnel(const Observation& o) const;
  [[nodiscard]] bool is_probe(const Observation& o) const;
  [[nodiscard]] bool local(const Observation& o) const;
};

Context make_context(const Facts& f);

/// The packets and probe results that concern one destination address.
struct Traffic {
  IpAddress address;
  std::vector<Observation> queries_inside;
  std::vector<Observation> queries_outside;
  std::vector<Observation> responses;
  std::vector<const ProbeResult*> direct;  // probes addressed to this resolver
  std::set<std::string> names;             // probe names asked of this resolver

  [[nodiscard]] bool queried() const { return !queries_inside.empty() || !queries_outside.empty(); }
  [[nodiscard]] bool answered() const;
  /// Every packet above, oldest first.
  [[nodiscard]] std::vector<Observation> all() const;
};

Traffic traffic_for(const Context& c, const IpAddress& x);
/// Every address worth a verdict: probe query destinations, configured resolvers, probe targets.
std::vector<IpAddress> destinations(const Context& c);
std::string route_text(const Context& c, const IpAddress& x);
/// A finding about t.address with its packets, probe names, route and probe outcomes as evidence.
Finding finding(Verdict v, const Context& c, const Traffic& t, std::string why);

/// Findings about encrypted flows (DoT, DoQ) and about the run as a whole (classify_run.cpp).
void classify_encrypted(const Context& c, std::vector<Finding>& out);
void run_wide(const Context& c, std::vector<Finding>& out);

}  // namespace dnsfence::detector::detail
