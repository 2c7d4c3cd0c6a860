#pragma once
// The heart of `leaktest`: a pure function from gathered facts to verdicts with evidence. No I/O,
// no clock, no randomness: the same facts always give the same report, so recorded fixtures drive
// its tests.

#include "detector/model.hpp"

namespace dnsfence::detector {

/// Classifies every resolver seen or configured, and the run as a whole.
///
/// Per destination address X of a probe query (or configured resolver, or --public address):
/// - LEAK-TYPE1: a probe query to X was seen on an interface other than the tunnel (loopback
///   excluded: a local stub is not a leak, its upstream queries are classified instead).
///   An encrypted DNS flow (DoT: TCP SYN to 853; DoQ: QUIC Initial to UDP 853) seen outside the
///   tunnel is LEAK-TYPE1 too; the evidence is the flow (source, destination, interface).
/// - LEAK-TYPE2: a probe query to X travelled inside the tunnel, and X is neither a VPN resolver
///   (configured on the tunnel link, inside a tunnel prefix, or --vpn-resolver) nor --trusted.
///   So is a DoT/DoQ flow inside the tunnel to such a resolver.
/// - STEALTH: X (not VPN, not trusted, not --public) received probe queries, never answered one,
///   and, with a witness, never appeared at the authority: neither its address nor a name only X
///   was asked for is in the witness's results.
/// - TAMPERED: X answered a probe name with an address the witness never serves.
/// - INTERCEPTED: a query addressed to a --public resolver inside the tunnel was answered, and the
///   witness saw that probe name from other resolvers only.
/// - INCONCLUSIVE: capture failed, no tunnel, witness failed, a probe was sent but never seen, a
///   trusted resolver never answered, ... each with its reason.
/// - OK: X is a VPN or trusted resolver reached inside the tunnel, or a --public resolver blocked;
///   or X is configured, no packet to X was captured, and its probes were refused on this machine
///   or redirected on it (a DNAT) to a VPN/trusted resolver inside the tunnel, which answered.
/// The overall verdict is the worst finding (OK < INTERCEPTED < INCONCLUSIVE < leaks); with no
/// finding at all it is INCONCLUSIVE: nothing failing never reads as "no leak".
Report classify(const Facts& facts);

/// Lower case, without a trailing dot: the form probe names are compared in.
std::string normalize_name(std::string_view name);

}  // namespace dnsfence::detector
