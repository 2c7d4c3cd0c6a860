#include "proxy/stats.hpp"

#include <set>

namespace dnsfence::proxy {
namespace {

using common::Exposition;
using common::Labels;

template <typename F>
std::uint64_t sum(const std::vector<const Stats*>& workers, F get) {
  std::uint64_t total = 0;
  for (const auto* w : workers) total += get(*w);
  return total;
}

void collect_queries(Exposition& out, const std::vector<const Stats*>& workers) {
  out.family("dnsfence_queries_total",
             "Queries received, by transport, action and class of the resolver the client addressed",
             Exposition::Type::Counter);
  for (std::size_t t = 0; t < 2; ++t)
    for (std::size_t a = 0; a < kActions; ++a)
      for (std::size_t c = 0; c < policy::kDestinationClasses; ++c) {
        const auto n = sum(workers, [&](const Stats& s) { return s.queries[t][a][c].get(); });
        if (n == 0) continue;
        out.sample({{"transport", t == 0 ? "udp" : "tcp"},
                    {"action", std::string(action_name(static_cast<Action>(a)))},
                    {"destination", std::string(policy::class_name(static_cast<policy::DestinationClass>(c)))}},
                   n);
      }
}

void collect_latency(Exposition& out, const std::vector<const Stats*>& workers) {
  out.family("dnsfence_upstream_latency_seconds", "Time from forwarding a query to its answer",
             Exposition::Type::Histogram);
  std::array<double, kLatencyBucketsUs.size()> bounds{};
  for (std::size_t b = 0; b < bounds.size(); ++b) bounds[b] = static_cast<double>(kLatencyBucketsUs[b]) / 1e6;
  std::array<std::uint64_t, kLatencyBucketsUs.size() + 1> counts{};
  for (std::size_t b = 0; b < counts.size(); ++b)
    counts[b] = sum(workers, [&](const Stats& s) { return s.latency[b].get(); });
  const auto sum_us = sum(workers, [](const Stats& s) { return s.latency_sum_us.get(); });
  out.histogram({}, bounds, counts, static_cast<double>(sum_us) / 1e6);
}

void collect_upstreams(Exposition& out, const std::vector<const Stats*>& workers,
                       const std::vector<UpstreamLabel>& upstreams, const HealthTable& health) {
  auto each = [&](const char* name, const char* help, Exposition::Type type, auto get) {
    out.family(name, help, type);
    for (const auto& u : upstreams)
      if (u.index < kMaxUpstreams) out.sample({{"upstream", u.address}}, get(u));
  };
  auto total = [&](const std::array<Counter, kMaxUpstreams> Stats::* member, std::uint64_t UpstreamLabel::* before) {
    return [&workers, member, before](const UpstreamLabel& u) {
      return sum(workers, [&](const Stats& s) { return (s.*member)[u.index].get(); }) - u.*before;
    };
  };
  each("dnsfence_upstream_up", "1 if the upstream is in rotation", Exposition::Type::Gauge,
       [&](const UpstreamLabel& u) { return std::int64_t{health[u.index].up() ? 1 : 0}; });
  each("dnsfence_upstream_down_total", "Times the upstream left the rotation (consecutive missed answers)",
       Exposition::Type::Counter, [&](const UpstreamLabel& u) { return health[u.index].downs() - u.downs_before; });
  each("dnsfence_upstream_queries_total", "Queries sent to each upstream", Exposition::Type::Counter,
       total(&Stats::upstream_sent, &UpstreamLabel::sent_before));
  each("dnsfence_upstream_timeouts_total", "Queries and health checks an upstream did not answer",
       Exposition::Type::Counter, total(&Stats::upstream_timeouts, &UpstreamLabel::timeouts_before));
}

void collect_simple(Exposition& out, const std::vector<const Stats*>& workers) {
  struct Item {
    const char* name;
    Exposition::Type type;
    const char* help;
    const Counter Stats::* member;
  };
  static const Item items[] = {
      {"dnsfence_inflight", Exposition::Type::Gauge, "Queries waiting for an upstream", &Stats::inflight},
      {"dnsfence_answers_dropped_total", Exposition::Type::Counter,
       "Upstream answers dropped: wrong source, ID or question", &Stats::answers_dropped},
      {"dnsfence_malformed_answers_total", Exposition::Type::Counter, "Upstream answers that did not parse",
       &Stats::malformed},
      {"dnsfence_send_errors_total", Exposition::Type::Counter, "Datagrams the kernel refused to send",
       &Stats::send_errors},
      {"dnsfence_oversize_queries_total", Exposition::Type::Counter, "Client datagrams too large to read",
       &Stats::oversize},
      {"dnsfence_tcp_connections", Exposition::Type::Gauge, "Open client TCP connections", &Stats::tcp_connections},
      {"dnsfence_tcp_refused_total", Exposition::Type::Counter,
       "TCP connections closed at once: the client address holds tcp_max_connections_per_client", &Stats::tcp_refused},
      {"dnsfence_upstream_sockets", Exposition::Type::Gauge,
       "UDP sockets open towards upstreams (each a fresh random port)", &Stats::upstream_sockets},
      {"dnsfence_upstream_tcp_connections", Exposition::Type::Gauge, "TCP connections open towards upstreams",
       &Stats::upstream_tcp_connections},
      {"dnsfence_upstream_tcp_retries_total", Exposition::Type::Counter, "Truncated UDP answers asked again over TCP",
       &Stats::tcp_retries},
      {"dnsfence_tproxy_unanswerable_total", Exposition::Type::Counter,
       "Tproxied UDP queries dropped: addressed to a port other than 53, which serve cannot reply from",
       &Stats::tproxy_unanswerable},
  };
  for (const auto& i : items) {
    out.family(i.name, i.help, i.type);
    const auto v = sum(workers, [&](const Stats& s) { return (s.*i.member).get(); });
    if (i.type == Exposition::Type::Gauge) {
      out.sample({}, static_cast<std::int64_t>(v));
    } else {
      out.sample({}, v);
    }
  }
}

void collect_tcp(Exposition& out, const std::vector<const Stats*>& workers) {
  out.family("dnsfence_tcp_closed_total", "Client TCP connections closed, by reason", Exposition::Type::Counter);
  for (std::size_t r = 0; r < io::kTcpCloseReasons; ++r)
    out.sample({{"reason", std::string(io::close_reason_name(static_cast<io::TcpClose>(r)))}},
               sum(workers, [&](const Stats& s) { return s.tcp_closed[r].get(); }));
  out.family("dnsfence_tcp_listener_paused_total",
             "Times the TCP listeners stopped accepting: full (tcp_max_connections) or out of descriptors",
             Exposition::Type::Counter);
  for (std::size_t r = 0; r < 2; ++r)
    out.sample({{"reason", r == 0 ? "full" : "descriptors"}},
               sum(workers, [&](const Stats& s) { return s.tcp_paused[r].get(); }));
}

void collect_rules(Exposition& out, const std::vector<const Stats*>& workers, const policy::RuleSet& rules) {
  out.family("dnsfence_rule_matches_total", "Queries each name rule answered or dropped locally",
             Exposition::Type::Counter);
  std::set<std::uint32_t> seen;  // a rule listed twice has one counter, and one series
  bool other = false;
  for (const auto& r : rules.name_rules()) {
    if (r.index >= kMaxRuleCounters || !seen.insert(r.index).second) continue;
    if (r.index == kMaxRuleCounters - 1) {  // the counter every identity past the last but one shares
      other = true;
      continue;
    }
    out.sample(
        {{"rule", rules.label(r)}, {"suffix", rules.suffix(r)}, {"action", std::string(policy::action_name(r.action))}},
        sum(workers, [&](const Stats& s) { return s.rule_hits[r.index].get(); }));
  }
  if (other)
    out.sample({{"rule", "other"}, {"suffix", ""}, {"action", ""}},
               sum(workers, [&](const Stats& s) { return s.rule_hits[kMaxRuleCounters - 1].get(); }));
}

}  // namespace

void Stats::observe_latency(std::uint64_t us) noexcept {
  std::size_t b = 0;
  while (b < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[b]) ++b;
  latency[b].add();
  latency_sum_us.add(us);
}

void collect_metrics(Exposition& out, const std::vector<const Stats*>& workers, const policy::RuleSet& rules,
                     const std::vector<UpstreamLabel>& upstreams, const HealthTable& health) {
  collect_queries(out, workers);
  collect_latency(out, workers);
  collect_upstreams(out, workers, upstreams, health);
  collect_simple(out, workers);
  collect_tcp(out, workers);
  collect_rules(out, workers, rules);
}

}  // namespace dnsfence::proxy
