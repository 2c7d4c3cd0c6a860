#include "witness/responder.hpp"

#include <algorithm>
#include <array>
#include <tuple>

#include "dns/gate.hpp"
#include "dns/header.hpp"

namespace dnsfence::witness {
namespace {

enum class Behaviour : std::uint8_t { Answer, NoReply, ServFail, Delay, Unknown };

std::uint8_t lower(std::uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

bool label_is(dns::Bytes label, std::string_view word) noexcept {
  if (label.size() != word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (lower(label[i]) != static_cast<std::uint8_t>(word[i])) return false;
  }
  return true;
}

// The index-th label (0 = leftmost) of the question name. The qname directly follows the header
// and a pointer may not point into the header, so it is never compressed.
dns::Bytes qname_label(dns::Bytes packet, std::size_t index) noexcept {
  std::size_t at = dns::kHeaderSize;
  for (std::size_t i = 0; i < index; ++i) at += 1 + packet[at];
  return packet.subspan(at + 1, packet[at]);
}

// "delay-250" -> 250; nullopt if not exactly "delay-" and 1..5 digits.
std::optional<std::uint32_t> delay_label(dns::Bytes label) noexcept {
  constexpr std::string_view kPrefix = "delay-";
  if (label.size() <= kPrefix.size() || label.size() > kPrefix.size() + 5) return std::nullopt;
  if (!label_is(label.first(kPrefix.size()), kPrefix)) return std::nullopt;
  std::uint32_t ms = 0;
  for (const std::uint8_t c : label.subspan(kPrefix.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    ms = ms * 10 + (c - '0');
  }
  return ms;
}

dns::Bytes address_rdata(const common::IpAddress& a) noexcept {
  return dns::Bytes(a.bytes().data(), !a.is_v4() ? 16 : 4);
}

void authoritative(dns::ResponseBuilder& b, bool aa) noexcept {
  b.set_flag(dns::flag::RA, false);
  b.set_flag(dns::flag::AA, aa);
}

void add_glue(dns::ResponseBuilder& b, const std::vector<NsHost>& hosts, std::uint32_t ttl) noexcept {
  for (const auto& h : hosts) {
    for (const auto& a : h.addresses)
      b.add(dns::Section::Additional, h.name, !a.is_v4() ? dns::rrtype::AAAA : dns::rrtype::A, ttl, address_rdata(a));
  }
}

Decision finish(dns::ResponseBuilder& b, Outcome outcome) noexcept {
  auto n = b.finish();
  return Decision{outcome, n ? *n : 0, 0, false, false, false};
}

}  // namespace

struct Responder::Ctx {
  const dns::Message& query;
  const dns::Question& question;
  const Peer& peer;
  std::span<std::uint8_t> out;
  const Zone* zone = nullptr;
};

std::string_view outcome_name(Outcome o) noexcept {
  static constexpr std::array<std::string_view, kOutcomeCount> kNames = {
      "answer", "nodata",      "nxdomain", "referral", "refused", "servfail", "noreply",
      "forged", "unknown_run", "formerr",  "notimp",   "badvers", "dropped"};
  return kNames[static_cast<std::size_t>(o)];
}

Responder::Responder(const ZoneConfig& config, const Keyring& keys, Store& store, const Clock& clock)
    : config_(config), keys_(keys), store_(store), clock_(clock) {
  auto soa_for = [&](const dns::Name& zone, const std::vector<NsHost>& ns) {
    dns::Soa soa;
    soa.zone = zone;
    soa.mname = ns.empty() ? zone : ns.front().name;
    soa.rname = config.soa_rname;
    soa.minimum = config.negative_ttl;
    soa.ttl = config.negative_ttl;
    return soa;
  };
  zones_.push_back(Zone{config.zone, &config.ns, soa_for(config.zone, config.ns), 0});
  for (const auto& [label, hosts, family] :
       {std::tuple{"v4.", &config.ns_v4, 4}, std::tuple{"v6.", &config.ns_v6, 6}}) {
    if (hosts->empty()) continue;
    auto child = dns::Name::from_text(std::string(label) + config.zone.to_text());
    if (child) zones_.push_back(Zone{*child, hosts, soa_for(*child, *hosts), family});
  }
}

const Responder::Zone* Responder::zone_for(dns::Bytes packet, dns::NameRef qname) const noexcept {
  const Zone* best = nullptr;
  for (const auto& z : zones_) {
    if (dns::is_subdomain(packet, qname, z.name) && (best == nullptr || z.name.labels() > best->name.labels()))
      best = &z;
  }
  return best;
}

Decision Responder::respond(dns::Bytes query, const Peer& peer, std::span<std::uint8_t> out) const noexcept {
  const dns::GateResult g = dns::gate(query);
  if (g.action != dns::GateAction::Accept) {
    static constexpr std::array<Outcome, 5> kGate = {Outcome::Answer, Outcome::Dropped, Outcome::FormErr,
                                                     Outcome::NotImp, Outcome::BadVers};
    auto n = dns::build_gate_reply(g, peer.transport, out);
    return Decision{kGate[static_cast<std::size_t>(g.action)], n ? *n : 0, 0, false, false, false};
  }
  const dns::Message& m = *g.message;
  Ctx c{m, *m.question(), peer, out};
  c.zone = zone_for(m.packet(), c.question.name);
  if (c.zone == nullptr || c.question.qclass != dns::rrclass::IN) {
    auto n = dns::build_response(m, dns::Rcode::Refused, nullptr, peer.transport, out);
    return Decision{Outcome::Refused, n ? *n : 0, 0, false, false, false};
  }
  if (c.zone->family != 0 && c.zone->family != (!peer.endpoint.ip().is_v4() ? 6 : 4)) return referral(c);
  const std::size_t below = c.question.name.labels - c.zone->name.labels();
  if (below == 0) return apex(c);
  for (const auto* set : {&config_.ns, &config_.ns_v4, &config_.ns_v6}) {
    for (const auto& h : *set) {
      if (dns::equals(m.packet(), c.question.name, h.name)) return host(c, h);
    }
  }
  if (has_descendant(m.packet(), c.question.name)) return negative(c, Outcome::NoData);
  return probe(c, below);
}

Decision Responder::negative(Ctx& c, Outcome outcome) const noexcept {
  dns::ResponseBuilder b(c.query, c.out, c.peer.transport);
  authoritative(b, true);
  b.set_rcode(outcome == Outcome::NoData ? dns::Rcode::NoError : dns::Rcode::NxDomain);
  b.add_soa(dns::Section::Authority, c.zone->soa);
  return finish(b, outcome);
}

Decision Responder::apex(Ctx& c) const noexcept {
  const std::uint16_t qtype = c.question.qtype;
  if (qtype != dns::rrtype::SOA && qtype != dns::rrtype::NS) return negative(c, Outcome::NoData);
  dns::ResponseBuilder b(c.query, c.out, c.peer.transport);
  authoritative(b, true);
  if (qtype == dns::rrtype::SOA) {
    b.add_soa(dns::Section::Answer, c.zone->soa);
  } else {
    for (const auto& h : *c.zone->ns) b.add_at_qname(dns::Section::Answer, dns::rrtype::NS, 3600, h.name.wire());
    add_glue(b, *c.zone->ns, 3600);
  }
  return finish(b, Outcome::Answer);
}

Decision Responder::referral(Ctx& c) const noexcept {
  dns::ResponseBuilder b(c.query, c.out, c.peer.transport);
  authoritative(b, false);
  for (const auto& h : *c.zone->ns) b.add(dns::Section::Authority, c.zone->name, dns::rrtype::NS, 3600, h.name.wire());
  add_glue(b, *c.zone->ns, 3600);
  return finish(b, Outcome::Referral);
}

Decision Responder::host(Ctx& c, const NsHost& h) const noexcept {
  const std::uint16_t qtype = c.question.qtype;
  dns::ResponseBuilder b(c.query, c.out, c.peer.transport);
  authoritative(b, true);
  bool any = false;
  for (const auto& a : h.addresses) {
    if ((!a.is_v4() && qtype == dns::rrtype::AAAA) || (a.is_v4() && qtype == dns::rrtype::A)) {
      b.add_at_qname(dns::Section::Answer, qtype, 3600, address_rdata(a));
      any = true;
    }
  }
  if (!any) return negative(c, Outcome::NoData);
  return finish(b, Outcome::Answer);
}

bool Responder::has_descendant(dns::Bytes packet, dns::NameRef qname) const noexcept {
  // An empty non-terminal: some name server name lies strictly below the question name. Both are
  // uncompressed wire names here, so a suffix is a byte range.
  const dns::Name q = dns::Name::from_packet(packet, qname);
  const dns::Bytes qw = q.wire();
  for (const auto* set : {&config_.ns, &config_.ns_v4, &config_.ns_v6}) {
    for (const auto& h : *set) {
      if (h.name.labels() <= q.labels()) continue;
      const dns::Bytes hw = h.name.wire();
      std::size_t at = 0;
      for (std::size_t i = 0; i < h.name.labels() - q.labels(); ++i) at += 1 + hw[at];
      const dns::Bytes suffix = hw.subspan(at);
      if (std::ranges::equal(suffix, qw, [](std::uint8_t a, std::uint8_t b) { return lower(a) == lower(b); }))
        return true;
    }
  }
  return false;
}

Decision Responder::probe(Ctx& c, std::size_t below) const noexcept {
  if (below > 2) return negative(c, Outcome::NxDomain);
  const dns::Bytes packet = c.query.packet();
  auto behaviour = Behaviour::Answer;
  std::uint32_t delay = 0;
  if (below == 2) {
    const dns::Bytes first = qname_label(packet, 0);
    const auto ms = delay_label(first);
    behaviour = label_is(first, "noreply")    ? Behaviour::NoReply
                : label_is(first, "servfail") ? Behaviour::ServFail
                : ms                          ? Behaviour::Delay
                                              : Behaviour::Unknown;
    delay = ms ? std::min(*ms, config_.max_delay_ms) : 0;
  }
  if (behaviour == Behaviour::Unknown) return negative(c, Outcome::NxDomain);
  const auto token = verify_token(keys_, qname_label(packet, below - 1));
  if (!token) {
    Decision d = negative(c, Outcome::NxDomain);
    if (token.error() == TokenError::BadMac) d.outcome = Outcome::Forged;
    return d;
  }
  const TimePoint now = clock_.now();
  const RecordOutcome recorded = token_live(*token, now, config_.run_ttl)
                                     ? store_.record(Observation{token->run, c.peer.endpoint.ip(), c.peer.transport,
                                                                 c.question.qtype, token->probe, now})
                                     : RecordOutcome::UnknownRun;
  if (recorded == RecordOutcome::UnknownRun) {
    Decision d = negative(c, Outcome::NxDomain);
    d.outcome = Outcome::UnknownRun;
    return d;
  }
  Decision d;
  if (behaviour == Behaviour::NoReply) {
    d.outcome = Outcome::NoReply;
  } else if (behaviour == Behaviour::ServFail) {
    auto n = dns::build_response(c.query, dns::Rcode::ServFail, nullptr, c.peer.transport, c.out);
    d = Decision{Outcome::ServFail, n ? *n : 0, 0, false, false, false};
  } else {
    d = probe_answer(c, *token);
    d.delay_ms = delay;
  }
  d.recorded = recorded == RecordOutcome::Recorded || recorded == RecordOutcome::Queued;
  d.cap_dropped = recorded == RecordOutcome::CapDropped;
  d.overflow = recorded == RecordOutcome::Overflow;
  return d;
}

Decision Responder::probe_answer(Ctx& c, const Token& token) const noexcept {
  const std::uint16_t qtype = c.question.qtype;
  dns::ResponseBuilder b(c.query, c.out, c.peer.transport);
  authoritative(b, true);
  if (qtype == dns::rrtype::TXT) {
    std::array<std::uint8_t, 512> txt{};
    const std::size_t n = write_evidence(c.query, c.peer, token, txt);
    if (n == 0) return negative(c, Outcome::NoData);
    b.add_at_qname(dns::Section::Answer, qtype, config_.answer_ttl, dns::Bytes(txt.data(), n));
    return finish(b, Outcome::Answer);
  }
  const auto* addresses = qtype == dns::rrtype::A      ? &config_.answer_a
                          : qtype == dns::rrtype::AAAA ? &config_.answer_aaaa
                                                       : nullptr;
  if (addresses == nullptr || addresses->empty()) return negative(c, Outcome::NoData);
  for (const auto& a : *addresses) b.add_at_qname(dns::Section::Answer, qtype, config_.answer_ttl, address_rdata(a));
  return finish(b, Outcome::Answer);
}

}  // namespace dnsfence::witness
