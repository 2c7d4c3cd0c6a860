#pragma once
// The witness's authoritative logic as a pure function of a query and its peer: no sockets, no
// clock of its own. It answers SOA/NS at the apex, A/AAAA for its name servers, probe names
// `<token>.<zone>` (A, AAAA, TXT evidence) and the behaviour labels `noreply.`, `servfail.`,
// `delay-<ms>.` in front of a token; everything else in the zone is NXDOMAIN or NODATA with the
// SOA. Whether a probe name is genuine and its run alive is decided from the token alone (its HMAC
// and the expiry it carries), so no store is consulted before answering; authenticated probes of a
// live run are then handed to the Store, which records them (memory) or queues them (Redis).
//
// IPv4-only and IPv6-only name server sets: `v4.<zone>` and `v6.<zone>` are child zones served by
// the same process. A query for them arriving over the other family gets a referral to the set of
// the right family, so a resolver can only complete it if it can reach that family.

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "dns/name.hpp"
#include "dns/response.hpp"
#include "witness/evidence.hpp"
#include "witness/store.hpp"
#include "witness/token.hpp"

namespace dnsfence::witness {

struct NsHost {
  dns::Name name;
  std::vector<common::IpAddress> addresses;
};

/// What the responder serves. Validated by config loading; the responder trusts it.
struct ZoneConfig {
  dns::Name zone;
  std::vector<NsHost> ns;                   // the zone's name servers (any family)
  std::vector<NsHost> ns_v4;                // v4.<zone> is delegated to these (IPv4 addresses only); empty: no v4 zone
  std::vector<NsHost> ns_v6;                // v6.<zone>: IPv6 addresses only; empty: no v6 zone
  std::vector<common::IpAddress> answer_a;  // A answers at probe names
  std::vector<common::IpAddress> answer_aaaa;  // AAAA answers at probe names
  dns::Name soa_rname;                         // hostmaster mailbox; mname is the first NS
  std::uint32_t answer_ttl = 0;                // probe names are unique: caching them gains nothing
  std::uint32_t negative_ttl = 60;
  std::uint32_t max_delay_ms = 5000;
  std::chrono::seconds run_ttl{3600};  // no genuine token claims to live longer (token_live)
};

/// A closed list of what happened to a query; one metric label each.
enum class Outcome : std::uint8_t {
  Answer,      // authoritative data (apex, name server, probe)
  NoData,      // the name exists, not that type: NOERROR + SOA
  NxDomain,    // nothing at or below the name: NXDOMAIN + SOA
  Referral,    // a v4/v6 child zone asked over the other family
  Refused,     // not our zone, or not class IN
  ServFail,    // the `servfail.` label
  NoReply,     // the `noreply.` label: never answered
  Forged,      // a token-shaped label whose HMAC fails: NXDOMAIN, not recorded
  UnknownRun,  // an authentic token of an expired run, or one the memory store does not hold: NXDOMAIN
  FormErr,     // the gate: malformed
  NotImp,      // the gate: opcode other than QUERY
  BadVers,     // the gate: EDNS version > 0
  Dropped,     // the gate: not a query, or shorter than a header
};
inline constexpr std::size_t kOutcomeCount = 13;

/// The metric label of an outcome ("nxdomain").
std::string_view outcome_name(Outcome o) noexcept;

struct Decision {
  Outcome outcome = Outcome::Dropped;
  std::size_t reply_size = 0;  // octets of `out` to send; 0: send nothing
  std::uint32_t delay_ms = 0;  // send the reply this late (the `delay-<ms>.` label, bounded)
  bool recorded = false;       // the store recorded this query
  bool cap_dropped = false;    // a probe of a live run not recorded because the run is full
  bool overflow = false;       // a probe of a live run lost because the store's buffer is full
};

class Responder {
 public:
  /// Keeps references to all four; they must outlive the responder.
  Responder(const ZoneConfig& config, const Keyring& keys, Store& store, const Clock& clock);

  /// Decides on one received query and writes any reply into `out` (64 KiB suffices for every
  /// reply). Never throws; allocates only when the store records a new resolver.
  Decision respond(dns::Bytes query, const Peer& peer, std::span<std::uint8_t> out) const noexcept;

 private:
  struct Zone {
    dns::Name name;
    const std::vector<NsHost>* ns = nullptr;
    dns::Soa soa;
    int family = 0;  // 0 any, 4 or 6: the family this child zone must be asked over
  };
  struct Ctx;

  [[nodiscard]] const Zone* zone_for(dns::Bytes packet, dns::NameRef qname) const noexcept;
  Decision apex(Ctx& c) const noexcept;
  Decision referral(Ctx& c) const noexcept;
  Decision host(Ctx& c, const NsHost& h) const noexcept;
  Decision probe(Ctx& c, std::size_t below) const noexcept;
  Decision probe_answer(Ctx& c, const Token& token) const noexcept;
  Decision negative(Ctx& c, Outcome outcome) const noexcept;
  [[nodiscard]] bool has_descendant(dns::Bytes packet, dns::NameRef qname) const noexcept;

  const ZoneConfig& config_;
  const Keyring& keys_;
  Store& store_;
  const Clock& clock_;
  std::vector<Zone> zones_;  // the zone first, then the v4 and v6 children if configured
};

}  // namespace dnsfence::witness
