#include "detector/authority.hpp"

#include <algorithm>

#include "detector/classify.hpp"

namespace dnsfence::detector {
namespace {

template <typename T>
void add_unique(std::vector<T>& v, const T& x) {
  if (std::ranges::find(v, x) == v.end()) v.push_back(x);
}

}  // namespace

NameEvidence::NameEvidence(const std::vector<SentQuery>& sent, const std::optional<WitnessResults>& witness,
                           const std::vector<IpAddress>& vpn)
    : has_witness_(witness.has_value()) {
  for (const auto& q : sent) sent_[q.name].push_back(q);
  if (!witness) return;
  for (const auto& r : witness->resolvers) {
    for (const auto& n : r.names) add_unique(asked_by_[normalize_name(n)], r.address);
  }
  // A name that went only to the VPN's resolvers, inside the tunnel, can have reached the authority
  // only through the VPN's resolution path: whoever asked for it is the VPN's egress. Each VPN
  // resolver gets several names, so a pool of egress addresses (IPv4 and IPv6) shows itself.
  for (const auto& [name, queries] : sent_) {
    const bool vpn_only = std::ranges::all_of(
        queries, [&](const SentQuery& q) { return q.inside && std::ranges::find(vpn, q.to) != vpn.end(); });
    if (!vpn_only) continue;
    for (const auto& a : asked_by(name)) add_unique(egress_, a);
  }
}

std::vector<std::string> NameEvidence::only_asked_of(const IpAddress& x) const {
  std::vector<std::string> out;
  for (const auto& [name, queries] : sent_) {
    if (std::ranges::all_of(queries, [&](const SentQuery& q) { return q.to == x; })) out.push_back(name);
  }
  return out;
}

std::vector<IpAddress> NameEvidence::asked_by(const std::string& name) const {
  const auto it = asked_by_.find(name);
  return it == asked_by_.end() ? std::vector<IpAddress>{} : it->second;
}

Answerer NameEvidence::answerer(const IpAddress& x, std::vector<IpAddress>* from) const {
  std::vector<IpAddress> seen;
  for (const auto& name : only_asked_of(x)) {
    for (const auto& a : asked_by(name)) add_unique(seen, a);
  }
  if (from != nullptr) *from = seen;
  if (seen.empty()) return Answerer::NotAtAuthority;
  const bool all_vpn =
      std::ranges::all_of(seen, [&](const IpAddress& a) { return std::ranges::find(egress_, a) != egress_.end(); });
  if (all_vpn && !egress_.empty()) return Answerer::Vpn;
  // No egress known: an address other than x's own could be the VPN's or x's upstream.
  if (egress_.empty() && std::ranges::find(seen, x) == seen.end()) return Answerer::Unknown;
  return Answerer::Elsewhere;
}

}  // namespace dnsfence::detector
