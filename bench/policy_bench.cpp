// What a name rule lookup costs with 10 and with 100,000 names: serve's RuleSet::match_name (a
// hash probe per label of the query name) against the linear scan it replaced (dns::is_subdomain
// for every rule in turn). Each iteration looks up one query, cycling through 4,096 different
// names, so the reported time is ns/lookup.
//   policy_bench                                  Google Benchmark, the timing comparison
//   policy_bench --names N --lookups L [--hit]    L lookups only, for an instruction count:
//     valgrind --tool=callgrind --toggle-collect='*run_lookups*' policy_bench --names N --lookups L

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "dns/testing_packets.hpp"
#include "policy/rule_set.hpp"

namespace dnsfence::policy {
namespace {

common::Config config_with(std::size_t names) {
  common::Config c = common::parse_config("[serve]\nupstreams = [\"10.64.0.53\"]\n", "bench");
  for (std::size_t i = 0; i < names; ++i)
    c.serve.names.push_back(
        {*dns::Name::from_text("tracker" + std::to_string(i) + ".ads.example"), common::NameAction::NxDomain});
  return c;
}

// 4,096 queries: names under listed ones (hits), or names no rule lists (misses: what nearly
// every query of a VPN client is), each with four labels.
struct Queries {
  std::vector<std::vector<std::uint8_t>> packets;
  std::vector<dns::Message> messages;
  Queries(std::size_t names, bool hit) {
    for (std::size_t i = 0; i < 4096; ++i) {
      const std::string name = hit ? "www.tracker" + std::to_string((i * 7919) % names) + ".ads.example"
                                   : "www.site" + std::to_string(i) + ".shop.example";
      packets.push_back(dns::testing::query(name, dns::rrtype::A));
    }
    for (const auto& p : packets) messages.push_back(*dns::parse(p));
  }
};

// The lookup serve did before: the first rule, in order, whose name contains the query name.
const NameRule* linear(const RuleSet& rules, const std::vector<dns::Name>& names, const dns::Message& m) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (dns::is_subdomain(m.packet(), m.question()->name, names[i])) return &rules.name_rules()[i];
  return nullptr;
}

void BM_Hashed(benchmark::State& state) {
  const auto names = static_cast<std::size_t>(state.range(0));
  const auto rules = RuleSet::compile(config_with(names));
  const Queries q(names, state.range(1) != 0);
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(rules->match_name(q.messages[i++ & 4095]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Hashed)->ArgsProduct({{10, 100000}, {0, 1}})->ArgNames({"names", "hit"});

void BM_LinearScan(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto c = config_with(n);
  const auto rules = RuleSet::compile(c);
  std::vector<dns::Name> names;
  for (const auto& r : rules->name_rules()) names.push_back(*dns::Name::from_text(rules->suffix(r)));
  const Queries q(n, false);
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(linear(*rules, names, q.messages[i++ & 4095]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LinearScan)->Arg(10)->Arg(100000)->ArgName("names");

[[gnu::noinline]] std::size_t run_lookups(const RuleSet& rules, const Queries& q, std::size_t lookups) {
  std::size_t matched = 0;
  for (std::size_t i = 0; i < lookups; ++i) matched += rules.match_name(q.messages[i & 4095]) != nullptr;
  return matched;
}

int count_mode(int argc, char** argv) {
  std::size_t names = 10;
  std::size_t lookups = 100000;
  bool hit = false;
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--names") == 0 && a + 1 < argc) names = std::strtoul(argv[++a], nullptr, 10);
    if (std::strcmp(argv[a], "--lookups") == 0 && a + 1 < argc) lookups = std::strtoul(argv[++a], nullptr, 10);
    if (std::strcmp(argv[a], "--hit") == 0) hit = true;
  }
  const auto rules = RuleSet::compile(config_with(names));
  const Queries q(names, hit);
  const std::size_t matched = run_lookups(*rules, q, lookups);
  std::printf("names %zu, lookups %zu, matched %zu\n", names, lookups, matched);
  return matched == (hit ? lookups : 0) ? 0 : 1;
}

}  // namespace
}  // namespace dnsfence::policy

int main(int argc, char** argv) {
  for (int a = 1; a < argc; ++a)
    if (std::strcmp(argv[a], "--names") == 0) return dnsfence::policy::count_mode(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
