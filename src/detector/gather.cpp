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

// The resolvers to probe directly: configured (loopback stubs excepted) and --resolver.
std::vector<IpAddress> targets(const Inventory& inv, const RunOptions& opt) {
  std::vector<IpAddress> out;
  auto add = [&](const IpAddress& a) {
    if (!loopback(a) && std::ranges::find(out, a) == out.end()) out.push_back(a);
  };
  for (const auto& r : inv.resolvers) add(r.address);
  for (const auto& a : opt.extra) add(a);
  return out;
}

// Probe names: from the witness when there is one (it must recognise them), else generated.
std::vector<std::string> probe_names(std::size_t count, const RunOptions& opt, const Collaborators& with,
                                     std::optional<WitnessRun>& run, Facts& f) {
  if (with.witness != nullptr) {
    try {
      run = with.witness->create_run(count);
      return {run->probes.begin(), run->probes.begin() + static_cast<std::ptrdiff_t>(count)};
    } catch (const std::exception& e) {
      f.witness_error = e.what();
    }
  }
  std::mt19937_64 rng(std::random_device{}());
  std::vector<std::string> names;
  names.reserve(count);
  for (std::size_t i = 0; i < count; ++i) names.push_back(make_probe_name(opt.zone, rng));
  return names;
}

ProbePlan plan(const std::vector<IpAddress>& direct, const std::vector<IpAddress>& publics,
               const std::vector<std::string>& names) {
  ProbePlan p;
  std::size_t next = 0;
  p.system_name = names[next++];
  // A and AAAA separately, each with its own name: a resolver may treat the two differently
  // (answer one, drop the other), and the witness then shows which one it forwarded.
  for (const auto& a : direct) {
    for (const ProbeKind k : {ProbeKind::DirectUdp, ProbeKind::DirectTcp}) {
      for (const std::uint16_t qtype : {dns::rrtype::A, dns::rrtype::AAAA})
        p.direct.push_back({names[next++], a, k, qtype});
    }
  }
  for (const auto& a : publics) p.direct.push_back({names[next++], a, ProbeKind::Public, dns::rrtype::A});
  return p;
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
  for (const auto& a : direct) f.routes.push_back(with.routes->lookup(a, 53, 0));
  for (const auto& a : opt.public_resolvers) f.routes.push_back(with.routes->lookup(a, 53, 0));

  std::optional<WitnessRun> run;
  const auto names = probe_names(probe_count(direct.size(), opt.public_resolvers.size()), opt, with, run, f);
  const ProbePlan p = plan(direct, opt.public_resolvers, names);

  auto started = with.capture->start();
  f.capture_ok = started.has_value();
  if (!started) f.capture_error = started.error();
  const auto t = Clock::now();
  f.probes = run_probes(p, opt.system_timeout, opt.direct_timeout);
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
