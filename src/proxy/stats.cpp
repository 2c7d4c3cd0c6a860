#include "proxy/stats.hpp"

#include <sstream>

namespace dnsfence::proxy {
namespace {

template <typename F>
std::uint64_t sum(const std::vector<const Stats*>& workers, F get) {
  std::uint64_t total = 0;
  for (const auto* w : workers) total += get(*w);
  return total;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

void render_queries(std::ostringstream& out, const std::vector<const Stats*>& workers) {
  header(out, "dnsfence_queries_total", "counter",
         "Queries received, by transport, action and class of the resolver the client addressed");
  for (std::size_t t = 0; t < 2; ++t)
    for (std::size_t a = 0; a < kActions; ++a)
      for (std::size_t c = 0; c < policy::kDestinationClasses; ++c) {
        const auto n = sum(workers, [&](const Stats& s) { return s.queries[t][a][c].get(); });
        if (n == 0) continue;
        out << "dnsfence_queries_total{transport=\"" << (t == 0 ? "udp" : "tcp") << "\",action=\""
            << action_name(static_cast<Action>(a)) << "\",destination=\""
            << policy::class_name(static_cast<policy::DestinationClass>(c)) << "\"} " << n << "\n";
      }
}

void render_latency(std::ostringstream& out, const std::vector<const Stats*>& workers) {
  header(out, "dnsfence_upstream_latency_seconds", "histogram", "Time from forwarding a query to its answer");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= kLatencyBucketsUs.size(); ++b) {
    cumulative += sum(workers, [&](const Stats& s) { return s.latency[b].get(); });
    out << "dnsfence_upstream_latency_seconds_bucket{le=\"";
    if (b < kLatencyBucketsUs.size())
      out << static_cast<double>(kLatencyBucketsUs[b]) / 1e6;
    else
      out << "+Inf";
    out << "\"} " << cumulative << "\n";
  }
  out << "dnsfence_upstream_latency_seconds_sum "
      << static_cast<double>(sum(workers, [](const Stats& s) { return s.latency_sum_us.get(); })) / 1e6 << "\n";
  out << "dnsfence_upstream_latency_seconds_count " << cumulative << "\n";
}

void render_upstreams(std::ostringstream& out, const std::vector<const Stats*>& workers,
                      const std::vector<UpstreamLabel>& upstreams) {
  auto each = [&](const char* name, auto get) {
    for (const auto& u : upstreams)
      if (u.index < kMaxUpstreams) out << name << "{upstream=\"" << u.address << "\"} " << get(u) << "\n";
  };
  auto total = [&](const std::array<Counter, kMaxUpstreams> Stats::* member, std::uint64_t UpstreamLabel::* before) {
    return [&workers, member, before](const UpstreamLabel& u) {
      return sum(workers, [&](const Stats& s) { return (s.*member)[u.index].get(); }) - (before ? u.*before : 0);
    };
  };
  const auto in_rotation = total(&Stats::upstream_up, nullptr);
  header(out, "dnsfence_upstream_up", "gauge", "1 if the upstream is in rotation (in every worker)");
  each("dnsfence_upstream_up", [&](const UpstreamLabel& u) { return in_rotation(u) == workers.size() ? 1 : 0; });
  header(out, "dnsfence_upstream_workers_in_rotation", "gauge", "Workers that have the upstream in rotation");
  each("dnsfence_upstream_workers_in_rotation", in_rotation);
  header(out, "dnsfence_upstream_queries_total", "counter", "Queries sent to each upstream");
  each("dnsfence_upstream_queries_total", total(&Stats::upstream_sent, &UpstreamLabel::sent_before));
  header(out, "dnsfence_upstream_timeouts_total", "counter", "Queries and health checks an upstream did not answer");
  each("dnsfence_upstream_timeouts_total", total(&Stats::upstream_timeouts, &UpstreamLabel::timeouts_before));
}

void render_simple(std::ostringstream& out, const std::vector<const Stats*>& workers) {
  struct Item {
    const char* name;
    const char* type;
    const char* help;
    const Counter Stats::* member;
  };
  static const Item items[] = {
      {"dnsfence_inflight", "gauge", "Queries waiting for an upstream", &Stats::inflight},
      {"dnsfence_answers_dropped_total", "counter", "Upstream answers dropped: wrong source, ID or question",
       &Stats::answers_dropped},
      {"dnsfence_malformed_answers_total", "counter", "Upstream answers that did not parse", &Stats::malformed},
      {"dnsfence_send_errors_total", "counter", "Datagrams the kernel refused to send", &Stats::send_errors},
      {"dnsfence_oversize_queries_total", "counter", "Client datagrams too large to read", &Stats::oversize},
      {"dnsfence_tcp_connections", "gauge", "Open client TCP connections", &Stats::tcp_connections},
      {"dnsfence_tcp_refused_total", "counter",
       "TCP connections closed at once: the client address holds tcp_max_connections_per_client", &Stats::tcp_refused},
      {"dnsfence_upstream_sockets", "gauge", "UDP sockets open towards upstreams (each a fresh random port)",
       &Stats::upstream_sockets},
      {"dnsfence_upstream_tcp_connections", "gauge", "TCP connections open towards upstreams",
       &Stats::upstream_tcp_connections},
      {"dnsfence_upstream_tcp_retries_total", "counter", "Truncated UDP answers asked again over TCP",
       &Stats::tcp_retries},
      {"dnsfence_tproxy_unanswerable_total", "counter",
       "Tproxied UDP queries dropped: addressed to a port other than 53, which serve cannot reply from",
       &Stats::tproxy_unanswerable},
  };
  for (const auto& i : items) {
    header(out, i.name, i.type, i.help);
    out << i.name << " " << sum(workers, [&](const Stats& s) { return (s.*i.member).get(); }) << "\n";
  }
}

void render_tcp(std::ostringstream& out, const std::vector<const Stats*>& workers) {
  header(out, "dnsfence_tcp_closed_total", "counter", "Client TCP connections closed, by reason");
  for (std::size_t r = 0; r < io::kTcpCloseReasons; ++r)
    out << "dnsfence_tcp_closed_total{reason=\"" << io::close_reason_name(static_cast<io::TcpClose>(r)) << "\"} "
        << sum(workers, [&](const Stats& s) { return s.tcp_closed[r].get(); }) << "\n";
  header(out, "dnsfence_tcp_listener_paused_total", "counter",
         "Times the TCP listeners stopped accepting: full (tcp_max_connections) or out of descriptors");
  for (std::size_t r = 0; r < 2; ++r)
    out << "dnsfence_tcp_listener_paused_total{reason=\"" << (r == 0 ? "full" : "descriptors") << "\"} "
        << sum(workers, [&](const Stats& s) { return s.tcp_paused[r].get(); }) << "\n";
}

}  // namespace

void Stats::observe_latency(std::uint64_t us) noexcept {
  std::size_t b = 0;
  while (b < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[b]) ++b;
  latency[b].add();
  latency_sum_us.add(us);
}

std::string render_prometheus(const std::vector<const Stats*>& workers, const policy::RuleSet& rules,
                              const std::vector<UpstreamLabel>& upstreams) {
  std::ostringstream out;
  render_queries(out, workers);
  render_latency(out, workers);
  render_upstreams(out, workers, upstreams);
  render_simple(out, workers);
  render_tcp(out, workers);
  header(out, "dnsfence_rule_matches_total", "counter", "Queries each name rule answered or dropped locally");
  for (const auto& r : rules.name_rules()) {
    if (r.index >= kMaxRuleCounters) break;
    out << "dnsfence_rule_matches_total{rule=\"" << r.label << "\",suffix=\"" << r.suffix.to_text() << "\"} "
        << sum(workers, [&](const Stats& s) { return s.rule_hits[r.index].get(); }) << "\n";
  }
  return out.str();
}

}  // namespace dnsfence::proxy
