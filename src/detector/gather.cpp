#include "detector/gather.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include "detector/probes.hpp"
#include "dns/types.hpp"

namespace dnsfence::detector {
namespace {

using Clock = std::chrono::steady_clock;

bool loopback(const IpAddress& a) {
  return a.is_v4() ? a.bytes()[0] == 127 : a == *IpAddress::parse("::1");
}

std::string ms_since(Clock::time_point t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count()) + " ms";
}

bool link_local(const IpAddress& a) {
  return !a.is_v4() && a.bytes()[0] == 0xfe && (a.bytes()[1] & 0xc0) == 0x80;
}

// One resolver to probe directly, with the zone a link-local address needs.
struct Target {
  IpAddress address;
  std::string link;
  bool vpn = false;
};

// The resolvers to probe directly: configured (loopback stubs excepted), --resolver, and the VPN's
// own (--vpn-resolver): its names show the authority the VPN's egress, without which an
// intercepted query cannot be told from a leak.
std::vector<Target> targets(const Inventory& inv, const RunOptions& opt) {
  std::vector<Target> out;
  const auto vpn = vpn_resolvers_of(inv, opt.vpn_resolvers);
  auto add = [&](const IpAddress& a, const std::string& link) {
    if (loopback(a) || std::ranges::any_of(out, [&](const Target& t) { return t.address == a; })) return;
    out.push_back(Target{a, link_local(a) ? link : "", std::ranges::find(vpn, a) != vpn.end()});
  };
  for (const auto& r : inv.resolvers) add(r.address, r.link);
  for (const auto& a : opt.extra) add(a, "");
  for (const auto& a : vpn) add(a, "");
  return out;
}

// Probe names: from the witness when there is one (it must recognise them), else generated. A
// witness that cannot be used leaves `f.witness_error` set and no name: the run stops there.
std::vector<std::string> probe_names(std::size_t count, const RunOptions& opt, const Collaborators& with,
                                     std::optional<WitnessRun>& run, Facts& f) {
  if (with.witness != nullptr) {
    const std::string needs = "this run needs " + std::to_string(count) +
                              " probe names (1 + 4 per resolver + 4 more per VPN resolver + 1 per --public)";
    try {
      run = with.witness->create_run(count);
    } catch (const std::exception& e) {
      f.witness_error = std::string(e.what()) + "; " + needs;
      return {};
    }
    if (run->probes.size() < count) {  // an old witness ignores "count"; a small one caps it
      f.witness_error = "it handed out " + std::to_string(run->probes.size()) + " and " + needs +
                        ": raise the witness's max_probes_per_run, or probe fewer resolvers";
      run.reset();
      return {};
    }
    return {run->probes.begin(), run->probes.begin() + static_cast<std::ptrdiff_t>(count)};
  }
  std::mt19937_64 rng(std::random_device{}());
  std::vector<std::string> names;
  names.reserve(count);
  for (std::size_t i = 0; i < count; ++i) names.push_back(make_probe_name(opt.zone, rng));
  return names;
}

ProbePlan plan(const std::vector<Target>& direct, const std::vector<IpAddress>& publics,
               const std::vector<std::string>& names) {
  ProbePlan p;
  std::size_t next = 0;
  p.system_name = names[next++];
  // A and AAAA separately, each with its own name: a resolver may treat the two differently
  // (answer one, drop the other), and the witness then shows which one it forwarded. A VPN
  // resolver gets the round twice: more names show more of its egress pool at the authority.
  for (const auto& t : direct) {
    for (int round = 0; round < (t.vpn ? 2 : 1); ++round) {
      for (const ProbeKind k : {ProbeKind::DirectUdp, ProbeKind::DirectTcp}) {
        for (const std::uint16_t qtype : {dns::rrtype::A, dns::rrtype::AAAA})
          p.direct.push_back({names[next++], t.address, k, qtype, t.link});
      }
    }
  }
  for (const auto& a : publics) p.direct.push_back({names[next++], a, ProbeKind::Public, dns::rrtype::A, ""});
  return p;
}

// The route of each target: the kernel's, or for a link-local address its own link (it is
// reachable on no other).
void lookup_routes(const std::vector<Target>& direct, const RunOptions& opt, const Collaborators& with, Facts& f) {
  for (const auto& t : direct) {
    if (!t.link.empty()) {
      f.routes.push_back(RouteFact{t.address, t.link, 0, std::nullopt, ""});
    } else {
      f.routes.push_back(with.routes->lookup(t.address, 53, 0));
    }
  }
  for (const auto& a : opt.public_resolvers) f.routes.push_back(with.routes->lookup(a, 53, 0));
}

void collect_witness(const Collaborators& with, const std::optional<WitnessRun>& run, Facts& f) {
  if (!run) return;
  const auto t = Clock::now();
  try {
    f.witness = with.witness->results(*run);
    f.waits.push_back("witness results: " + ms_since(t));
  } catch (const std::exception& e) {
    f.witness_error = e.what();
    f.waits.push_back("witness results: failed after " + ms_since(t));
  }
}

}  // namespace

Facts gather(const RunOptions& opt, const Collaborators& with) {
  Facts f;
  f.trusted = opt.trusted;
  f.vpn_resolvers = opt.vpn_resolvers;
  f.public_resolvers = opt.public_resolvers;
  f.inventory = collect_inventory(*with.sources);
  for (const auto& a : opt.extra) f.inventory.resolvers.push_back(Resolver{a, "--resolver", ""});
  f.inventory.tunnel = detect_tunnel(opt.tunnel, *with.routes);
  const auto direct = targets(f.inventory, opt);
  lookup_routes(direct, opt, with, f);

  std::optional<WitnessRun> run;
  const std::size_t vpn = static_cast<std::size_t>(std::ranges::count_if(direct, &Target::vpn));
  const auto names = probe_names(probe_count(direct.size(), vpn, opt.public_resolvers.size()), opt, with, run, f);
  if (names.empty()) return f;  // the witness given cannot be used: witness_error says why
  const ProbePlan p = plan(direct, opt.public_resolvers, names);

  auto started = with.capture->start();
  f.capture_ok = started.has_value();
  if (!started) f.capture_error = started.error();
  const auto t = Clock::now();
  f.probes = with.probe ? with.probe(p) : run_probes(p, opt.system_timeout, opt.direct_timeout);
  f.waits.push_back("probes: " + ms_since(t) + " (bounds: getaddrinfo " + std::to_string(opt.system_timeout.count()) +
                    " ms, direct " + std::to_string(opt.direct_timeout.count()) + " ms)");
  if (started) {
    std::this_thread::sleep_for(opt.settle);
    CaptureResult c = with.capture->stop();
    f.capture_ok = c.ok;
    f.capture_error = c.error;
    f.observations = std::move(c.observations);
    f.waits.push_back("capture: " + std::to_string(c.packets) + " packets, settled " +
                      std::to_string(opt.settle.count()) + " ms after the last probe");
  }
  collect_witness(with, run, f);
  return f;
}

}  // namespace dnsfence::detector
