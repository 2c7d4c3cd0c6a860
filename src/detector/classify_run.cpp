#include <algorithm>
#include <utility>

#include "detector/classify_context.hpp"

namespace dnsfence::detector::detail {

// DNS over TLS (TCP 853) or over QUIC (UDP 853) cannot be tied to a probe name, but the flow
// itself is evidence: outside the tunnel it shows the user's real address to that resolver (Type
// 1); inside it, to a resolver that is neither the VPN's nor trusted, that resolver still reads
// every name once it decrypts them (Type 2).
void classify_encrypted(const Context& c, std::vector<Finding>& out) {
  if (!c.f.inventory.tunnel) return;
  std::vector<std::pair<IpAddress, bool>> seen;  // (resolver, inside) already reported
  for (const auto& o : c.f.observations) {
    if (!encrypted(o) || o.is_response || c.local(o)) continue;
    const IpAddress x = o.dst.ip();
    const bool inside = c.in_tunnel(o);
    if (inside && (contains(c.vpn, x) || contains(c.f.trusted, x))) continue;
    if (std::ranges::find(seen, std::pair{x, inside}) != seen.end()) continue;
    seen.emplace_back(x, inside);
    const std::string what = o.wire == Wire::Dot ? "DNS over TLS (TCP 853)" : "DNS over QUIC (UDP 853)";
    const std::string xs = x.to_string();
    std::string why = "An encrypted DNS connection, ";
    why.append(what).append(", to ").append(xs);
    if (inside) {
      why.append(" travelled inside the tunnel, but ").append(xs);
      why += " is neither the VPN's resolver nor one you chose (--trusted): it reads every name you look up.";
    } else {
      why.append(" left on ").append(o.ifname).append(", outside the tunnel: ").append(xs);
      why += " reads every name once decrypted and sees your real address.";
    }
    std::vector<Observation> evidence;
    for (const auto& e : c.f.observations) {
      if (encrypted(e) && (e.is_response ? e.src.ip() : e.dst.ip()) == x && c.in_tunnel(e) == inside)
        evidence.push_back(e);
    }
    out.push_back(
        Finding{inside ? Verdict::LeakType2 : Verdict::LeakType1,
                x,
                std::move(why),
                std::move(evidence),
                {},
                {route_text(c, x), std::string("flow ") + wire_name(o.wire) + " " + o.src.to_string() + " -> " +
                                       o.dst.to_string() + " on " + (o.ifname.empty() ? "?" : o.ifname)}});
  }
}

void run_wide(const Context& c, std::vector<Finding>& out) {
  auto add = [&](std::string why) {
    out.push_back(Finding{Verdict::Inconclusive, std::nullopt, std::move(why), {}, {}, {}});
  };
  // A witness that could not be used before the run means no probe was sent: that is the one reason.
  const bool nothing_sent = c.f.probes.empty() && !c.f.witness_error.empty();
  if (!c.f.capture_ok && !nothing_sent)
    add("The packet capture failed (" + c.f.capture_error + "): no leak can be ruled out.");
  if (!c.f.inventory.tunnel)
    add("No tunnel interface was found (use --tunnel IF): inside and outside cannot be told apart.");
  if (!c.f.witness_error.empty()) {
    add("The witness given with --witness could not be used (" + c.f.witness_error + "): " +
        (nothing_sent ? "no probe was sent, nothing was tested."
                      : "no verdict rests on the authority's record; only what the packets prove is reported."));
  }
  if (c.f.witness && c.f.witness->incomplete) {
    add("The witness says its record of this run may be incomplete (its store was unreachable for a while): "
        "a name missing from it proves nothing, so no resolver is called a Stealth server on that ground.");
  }
  for (const auto& p : c.f.probes) {
    if (p.kind == ProbeKind::System && !p.answered) {
      Finding f{Verdict::Inconclusive,
                std::nullopt,
                "The system resolver (getaddrinfo) gave no answer for the probe name (" + p.error + ").",
                {},
                {p.name},
                {}};
      out.push_back(std::move(f));
    }
  }
}

}  // namespace dnsfence::detector::detail
