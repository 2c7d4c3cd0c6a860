#pragma once
// The facts `leaktest` gathers and the verdicts it draws from them: plain values shared by the
// platform-specific collectors (inventory, routes, capture, probes, witness) and the pure classifier.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"

namespace dnsfence::detector {

using common::IpAddress;
using common::SocketAddress;

/// One resolver the system may use, and where the inventory found it.
struct Resolver {
  IpAddress address;
  std::string origin;  // "/etc/resolv.conf", "systemd-resolved", "NetworkManager", "dhcp:<file> (why)", ...
  std::string link;    // the interface it is configured on, when the source says so ("" = global); for
                       // a link-local address ("fe80::1%eth0") its zone, which probes need to reach it
};

/// The VPN tunnel interface and how it was found.
struct Tunnel {
  std::string ifname;
  int ifindex = 0;
  std::string kind;                       // "tun", "wireguard", "declared", ...
  std::string detected_by;                // "default route", "--tunnel", "interface scan"
  std::vector<common::Prefix> addresses;  // the tunnel's own addresses, with their prefix lengths
};

/// Every resolver the system may use, plus the tunnel, plus what could not be read.
struct Inventory {
  std::vector<Resolver> resolvers;
  std::optional<Tunnel> tunnel;
  std::vector<std::string> notes;  // sources absent or unreadable: reported, never fatal
};

/// Where the kernel would send a DNS packet to one address.
struct RouteFact {
  IpAddress destination;
  std::string ifname;  // "" when the lookup failed
  int ifindex = 0;
  std::optional<IpAddress> source;
  std::string error;  // why the lookup failed, "" on success
};

/// The transport a DNS message was seen on: plain DNS over UDP or TCP port 53, or an encrypted flow
/// on port 853 (DoT: a TCP SYN; DoQ: a QUIC Initial packet), whose content cannot be read.
enum class Wire : std::uint8_t { Udp, Tcp, Dot, Doq };

/// One DNS packet seen by the capture.
struct Observation {
  double time = 0;  // seconds since the capture started
  int ifindex = 0;
  std::string ifname;
  SocketAddress src;
  SocketAddress dst;
  Wire wire = Wire::Udp;
  bool is_response = false;
  std::string qname;        // lower case, no trailing dot; "" for DoT/DoQ or unparsable payloads
  std::uint16_t qtype = 0;  // the question's type (1 A, 28 AAAA); 0 for DoT/DoQ
  std::uint16_t id = 0;
  std::uint16_t rcode = 0;
  std::vector<std::string> answers;  // A/AAAA addresses in the answer section, as text
};

/// Which path a probe exercised.
enum class ProbeKind : std::uint8_t {
  System,     // getaddrinfo: the path applications really use
  DirectUdp,  // a UDP query built by us, addressed to one configured resolver
  DirectTcp,  // the same over TCP
  Public,     // a query addressed to a third-party resolver, to detect server-side interception
};

/// One probe and what came back.
struct ProbeResult {
  std::string name;  // the unique probe name, lower case, no trailing dot
  ProbeKind kind = ProbeKind::System;
  std::optional<IpAddress> target;  // the resolver addressed (absent for System)
  std::uint16_t qtype = 0;          // 1 A or 28 AAAA for direct probes; 0 for System (both)
  bool answered = false;
  std::uint16_t rcode = 0;
  std::vector<std::string> answers;  // A/AAAA addresses received
  std::string error;                 // "timeout after 1500 ms", "connect: refused", ...
  std::string link;                  // the interface (zone) of a link-local target, "" otherwise
};

/// One resolver address the witness saw, with the probe names it asked for.
struct WitnessResolver {
  IpAddress address;
  std::vector<std::string> names;
};

/// What a VPN server running `dnsfence serve` (tproxy mode) reported to the witness of this run's
/// probe names: the address the device really sent them to, and what the server did (issue 16).
struct WitnessReport {
  IpAddress destination;
  std::string destination_class;  // "provider", "allowlisted", "private", "public"
  std::string action;             // "redirected", "passed", "refused", "answered"
  std::string reporter;           // the VPN server's name at the witness
  std::string role;               // "vpn" (an address the witness knows as the VPN's), "other"
  std::vector<std::string> transports;
  std::vector<std::string> names;
};

/// What the leak-test authority recorded for one run.
struct WitnessResults {
  std::vector<WitnessResolver> resolvers;
  std::vector<std::string> served;  // the A/AAAA data the authority answers probe names with
  // The witness says its record may lack observations (its store was unreachable for a while): a
  // name absent from it proves nothing.
  bool incomplete = false;
  std::vector<WitnessReport> reports;
};

/// The closed set of verdicts, from best to worst for exit codes (see exit_code()). Unprotected is a
/// warning about the VPN, not about this system's lookups: a third-party resolver (--public) answered
/// through the tunnel by itself, so the VPN lets DNS to any resolver through.
enum class Verdict : std::uint8_t {
  Ok,
  Intercepted,
  Unprotected,
  Inconclusive,
  LeakType1,
  LeakType2,
  Stealth,
  Tampered
};

/// One finding: a verdict about one resolver (or the run), its evidence and a plain explanation.
struct Finding {
  Verdict verdict = Verdict::Inconclusive;
  std::optional<IpAddress> resolver;  // absent for run-wide findings
  std::string explanation;            // one plain-language sentence or two
  std::vector<Observation> evidence;  // the packets that prove it (may be empty)
  std::vector<std::string> probes;    // probe names involved
  std::vector<std::string> facts;     // other evidence: route lookups, witness rows, probe errors
};

/// Everything the classifier reads. Collectors fill it; tests load it from fixtures.
struct Facts {
  Inventory inventory;
  std::vector<RouteFact> routes;
  bool capture_ok = false;
  std::string capture_error;
  std::vector<Observation> observations;
  std::vector<ProbeResult> probes;
  std::optional<WitnessResults> witness;  // absent without --witness, or when it failed
  std::string witness_error;              // "" when no witness was asked or it answered; else why the
                                          // witness given could not be used (then no verdict rests on it)
  std::vector<IpAddress> trusted;         // --trusted: resolvers the user chose deliberately
  std::vector<IpAddress> vpn_resolvers;   // --vpn-resolver, added to those found on the tunnel
  std::vector<IpAddress> public_resolvers;
  std::vector<std::string> waits;  // every bounded wait and how it ended, for the report
};

/// The classifier's result.
struct Report {
  std::vector<Finding> findings;
  Verdict overall = Verdict::Inconclusive;
  std::vector<std::string> notes;  // context that is no verdict: what the witness saw, the waits
};

/// "OK", "LEAK-TYPE1", ... as printed and as in JSON.
const char* verdict_name(Verdict v) noexcept;
/// Process exit code for an overall verdict: 0 OK/INTERCEPTED, 1 leak, 2 inconclusive, 4 unprotected
/// (3 is the command line's usage error).
int exit_code(Verdict overall) noexcept;
/// "udp", "tcp", "dot", "doq".
const char* wire_name(Wire w) noexcept;
/// "A", "AAAA", or the number; "" for 0.
std::string qtype_name(std::uint16_t qtype);
/// "system", "udp", "tcp", "public".
const char* probe_kind_name(ProbeKind k) noexcept;

/// The VPN's resolvers of a run: --vpn-resolver, and every configured resolver on the tunnel link or
/// inside one of the tunnel's prefixes. Without a tunnel, only --vpn-resolver.
std::vector<IpAddress> vpn_resolvers_of(const Inventory& inventory, const std::vector<IpAddress>& declared);

}  // namespace dnsfence::detector
