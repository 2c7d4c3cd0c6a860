#include "proxy/server.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <system_error>

#include "common/cpus.hpp"
#include "proxy/metrics_http.hpp"

namespace dnsfence::proxy {
namespace {

std::vector<std::string> restart_needed(const common::ServeConfig& a, const common::ServeConfig& b) {
  std::vector<std::string> keys;
  auto check = [&](bool same, const char* key) {
    if (!same) keys.emplace_back(key);
  };
  check(a.listen == b.listen, "listen");
  check(a.mode == b.mode, "mode");
  check(a.tproxy_listen == b.tproxy_listen, "tproxy_listen");
  check(a.workers == b.workers, "workers");
  check(a.max_inflight == b.max_inflight, "max_inflight");
  check(a.when_full == b.when_full, "when_full");
  check(a.upstream_timeout == b.upstream_timeout, "upstream_timeout_ms");
  check(a.health_check_interval == b.health_check_interval, "health_check_interval_ms");
  check(a.tcp_idle_timeout == b.tcp_idle_timeout && a.tcp_total_timeout == b.tcp_total_timeout, "tcp_*_timeout_ms");
  check(a.tcp_max_connections == b.tcp_max_connections, "tcp_max_connections");
  check(a.tcp_max_connections_per_client == b.tcp_max_connections_per_client &&
            a.tcp_max_inflight_per_connection == b.tcp_max_inflight_per_connection &&
            a.tcp_max_queued_bytes == b.tcp_max_queued_bytes,
        "tcp_max_*");
  check(a.udp_receive_buffer == b.udp_receive_buffer, "udp_receive_buffer");
  check(a.metrics == b.metrics, "metrics");
  check(a.user == b.user, "user");
  check(a.debug_log == b.debug_log, "debug_log");
  check(a.witness.enabled == b.witness.enabled && a.witness.url == b.witness.url &&
            a.witness.reporter == b.witness.reporter && a.witness.key == b.witness.key &&
            a.witness.queue == b.witness.queue && a.witness.interval == b.witness.interval &&
            (!a.witness.enabled || a.witness.zone == b.witness.zone),
        "witness_*");
  return keys;
}

}  // namespace

std::shared_ptr<const UpstreamSet> Server::assign(const common::Config& config) {
  auto set = upstream_table_.assign(config.serve.upstreams, now_ns());
  if (!set) throw common::ConfigError(config.source + ": " + set.error());
  set->health = &health_;
  set->policy = {config.serve.upstream_max_failures, config.serve.upstream_rise};
  // Upstreams new to the set (or back after a reload removed them) start in rotation with a
  // health check at once; those that stay keep their state.
  const auto previous = shared_.upstreams.load();
  for (const auto& e : set->entries) {
    const bool kept = previous && std::any_of(previous->entries.begin(), previous->entries.end(),
                                              [&](const auto& p) { return p.index == e.index; });
    if (!kept) health_[e.index].reset();
  }
  return std::make_shared<const UpstreamSet>(std::move(*set));
}

Server::Server(common::Config config)
    : config_(std::move(config)),
      // Every query to an upstream ends by its deadline (upstream_timeout_ms, TCP retries
      // included): twice that after it left the set, its index can name another one.
      upstream_table_(2 * std::chrono::nanoseconds(config_.serve.upstream_timeout).count()),
      rule_counters_(static_cast<std::uint32_t>(kMaxRuleCounters)) {
  shared_.rules.store(policy::RuleSet::compile(config_, &rule_counters_));
  // Compiled into the RuleSet, which keeps them compactly; a 100,000-name list is not kept twice.
  config_.serve.names.clear();
  config_.serve.names.shrink_to_fit();
  shared_.upstreams.store(assign(config_));
  registry_.add_collector([this](common::Exposition& out) { collect(out); });
  unsigned n = config_.serve.workers;
  if (n == 0) n = common::usable_cpus();  // the CPUs it may run on, not the machine's
  // Per-worker caps are rounded up, so the workers together may hold up to n - 1 more.
  shared_.tcp_clients = std::make_unique<io::ClientLimit>(config_.serve.tcp_max_connections_per_client,
                                                          config_.serve.tcp_max_connections + n);
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(i, n, config_.serve, shared_));
  const auto& w = config_.serve.witness;
  if (w.enabled) {
    std::vector<ReportQueue*> queues;
    for (unsigned i = 0; i < n; ++i) {
      report_queues_.push_back(std::make_unique<ReportQueue>(w.zone, w.queue));
      queues.push_back(report_queues_.back().get());
      workers_[i]->set_reports(queues.back());
    }
    // One batch at a time, each bounded: a witness that is away costs at most this per interval.
    reporter_ = std::make_unique<Reporter>(w, std::move(queues),
                                           std::make_unique<HttpReportSink>(w.url, std::chrono::seconds(2)));
  }
}

Server::~Server() {
  stop();
}

void Server::open() {
  for (auto& w : workers_) w->open();
  open_tproxy_reply();
  if (!config_.serve.metrics.empty())
    http_ = std::make_unique<MetricsHttp>(config_.serve.metrics, [this] { return metrics(); });
}

void Server::open_tproxy_reply() {
  if (workers_.empty()) return;
  const auto needed = workers_.front()->needs_tproxy_reply();
  for (std::size_t f = 0; f < 2; ++f) {
    if (!needed[f]) continue;
    // No SO_REUSEADDR or SO_REUSEPORT: if anything else has UDP port 53 (another DNS server), the
    // bind fails here instead of sharing its traffic.
    const common::SocketAddress any(*common::IpAddress::parse(f == 0 ? "0.0.0.0" : "::"), 53);
    auto fd = io::open_udp(any, {.transparent = true, .send_only = true});
    if (!fd)
      throw std::system_error(
          fd.error(), std::generic_category(),
          "tproxy reply socket " + any.to_string() +
              " (replies from port 53 without capabilities need UDP port 53 on the wildcard "
              "address: stop what uses port 53, or give serve a listen or tproxy_listen address on port 53)");
    shared_.tproxy_reply[f] = std::move(*fd);
  }
}

void Server::start() {
  shared_.generation.fetch_add(1, std::memory_order_release);
  for (auto& w : workers_) threads_.emplace_back([&w] { w->run(); });
  if (http_) http_->start();
  if (reporter_) reporter_->start();
}

std::vector<std::string> Server::reload(const common::Config& fresh) {
  auto rules = policy::RuleSet::compile(fresh, &rule_counters_);
  auto upstreams = assign(fresh);  // last: a refusal must leave the table as it was
  auto keys = restart_needed(config_.serve, fresh.serve);
  for (const std::uint8_t i : upstreams->renamed) {  // its counters so far belong to the one before
    std::uint64_t sent = 0;
    std::uint64_t timeouts = 0;
    for (const auto& w : workers_) {
      sent += w->stats().upstream_sent[i].get();
      timeouts += w->stats().upstream_timeouts[i].get();
    }
    sent_before_[i].store(sent);
    timeouts_before_[i].store(timeouts);
    downs_before_[i].store(health_[i].downs());
  }
  shared_.rules.store(std::move(rules));
  shared_.upstreams.store(std::move(upstreams));
  const auto g = shared_.generation.fetch_add(1, std::memory_order_release) + 1;
  // Return once every running worker uses the new snapshot (each looks at least every 20 ms), so
  // that "reloaded" in the log and READY=1 mean new queries follow the new configuration.
  for (int i = 0; i < 1000 && !threads_.empty(); ++i) {
    if (std::all_of(workers_.begin(), workers_.end(), [g](const auto& w) { return w->applied_generation() >= g; }))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return keys;
}

void Server::stop() {
  shared_.stop.store(true);
  if (http_) http_->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  if (reporter_) reporter_->stop();  // after the workers: their last sightings go out too
}

std::string Server::metrics() const {
  return registry_.expose();
}

void Server::collect(common::Exposition& out) const {
  std::vector<const Stats*> stats;
  stats.reserve(workers_.size());
  for (const auto& w : workers_) stats.push_back(&w->stats());
  std::vector<UpstreamLabel> upstreams;
  const auto current = shared_.upstreams.load();  // held: a reload may replace it meanwhile
  for (const auto& e : current->entries)
    upstreams.push_back({e.index, e.address.to_string(), sent_before_[e.index].load(), timeouts_before_[e.index].load(),
                         downs_before_[e.index].load()});
  const auto rules = shared_.rules.load();
  collect_metrics(out, stats, *rules, upstreams, health_);
  if (reporter_) reporter_->collect(out);
}

}  // namespace dnsfence::proxy
