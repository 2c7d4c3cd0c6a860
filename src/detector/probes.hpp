#pragma once
// Probes: unique names and the three ways leaktest asks for them: through the system resolver
// (getaddrinfo, what applications use), directly to one resolver over UDP or TCP, and to
// third-party resolvers to see whether the VPN intercepts DNS. Every wait is bounded.

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "detector/model.hpp"

namespace dnsfence::detector {

/// "<16 hex digits>.<zone>", lower case, no trailing dot.
std::string make_probe_name(std::string_view zone, std::mt19937_64& rng);

/// A query of type `qtype` (A by default) for `name` with RD set and id `id`, in wire form. Throws
/// std::invalid_argument if `name` is not a valid domain name (control plane).
std::vector<std::uint8_t> build_query(std::string_view name, std::uint16_t id, std::uint16_t qtype = 1);

/// Looks `name` up with getaddrinfo in a helper thread; gives up after `timeout` (the thread is
/// then left to finish on its own: getaddrinfo cannot be cancelled). NXDOMAIN (EAI_NONAME) is an
/// answer; a timeout or EAI_AGAIN is not.
ProbeResult system_probe(const std::string& name, std::chrono::milliseconds timeout);

/// Sends one query of type `qtype` (1 A, 28 AAAA) for `name` to `target` port 53 over UDP
/// (DirectUdp, Public) or TCP (DirectTcp) and waits at most `timeout` for the reply with the same
/// id. A and AAAA answers are collected. `link` is the interface (zone) of a link-local IPv6 target
/// ("fe80::1%eth0"), "" otherwise; an unknown interface is an error in the result.
ProbeResult direct_probe(const std::string& name, const IpAddress& target, ProbeKind kind,
                         std::chrono::milliseconds timeout, std::uint16_t port = 53, std::uint16_t qtype = 1,
                         const std::string& link = "");

/// What to probe: the names are assigned in order, so the caller can reserve them with a witness.
struct ProbePlan {
  std::string system_name;
  struct Direct {
    std::string name;
    IpAddress target;
    ProbeKind kind;
    std::uint16_t qtype = 1;  // 1 A, 28 AAAA
    std::string link;         // the zone of a link-local target, "" otherwise
  };
  std::vector<Direct> direct;
};

/// Runs every probe of the plan concurrently; returns when all finished or timed out.
std::vector<ProbeResult> run_probes(const ProbePlan& plan, std::chrono::milliseconds system_timeout,
                                    std::chrono::milliseconds direct_timeout);

}  // namespace dnsfence::detector
