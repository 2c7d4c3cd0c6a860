#pragma once
// Per-worker counters. Each worker is the only writer of its own Stats (a relaxed load + store,
// no locked instruction on the hot path); at each scrape, a collector of the common metrics
// registry reads all workers' Stats and sums them. No query names, no client addresses: only
// counts.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/metrics.hpp"
#include "dns/response.hpp"
#include "io/tcp_server.hpp"
#include "policy/rule_set.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/upstreams.hpp"

namespace dnsfence::proxy {

/// A counter with one writer and any number of readers.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(std::uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

/// Upper bounds of the latency histogram buckets, in microseconds (+Inf is implicit).
inline constexpr std::array<std::uint64_t, 12> kLatencyBucketsUs = {500,   1000,   2000,   5000,   10000,   25000,
                                                                    50000, 100000, 250000, 500000, 1000000, 2500000};
using common::kMaxUpstreams;
// Name rule counters per worker, by identity (policy::CounterSlots): 8 KiB. Identities past the
// last but one share the last ("other").
inline constexpr std::size_t kMaxRuleCounters = 1024;

struct Stats {
  // queries[transport][action][destination class]
  std::array<std::array<std::array<Counter, policy::kDestinationClasses>, kActions>, 2> queries;
  std::array<Counter, kLatencyBucketsUs.size() + 1> latency;  // not cumulative; summed on render
  Counter latency_sum_us;
  Counter inflight;
  Counter answers_dropped;  // from upstreams: wrong source, unknown ID or question mismatch
  Counter malformed;        // unparseable answers from upstreams
  Counter send_errors;      // datagrams the kernel refused
  Counter oversize;         // client datagrams larger than the receive buffer
  Counter tcp_connections;  // open now
  Counter tcp_refused;      // over tcp_max_connections_per_client
  std::array<Counter, io::kTcpCloseReasons> tcp_closed;  // by io::TcpClose
  std::array<Counter, 2> tcp_paused;                     // listener paused: full, out of descriptors (io::TcpPause)
  Counter upstream_sockets;                              // UDP sockets open now towards upstreams
  Counter upstream_tcp_connections;                      // TCP connections open now towards upstreams
  Counter tcp_retries;                                   // truncated UDP answers asked again over TCP
  Counter tproxy_unanswerable;                           // tproxy queries to a port other than 53
  std::array<Counter, kMaxUpstreams> upstream_sent;
  std::array<Counter, kMaxUpstreams> upstream_timeouts;
  std::array<Counter, kMaxRuleCounters> rule_hits;  // by NameRule::index

  void count(dns::Transport t, Action a, policy::DestinationClass c) noexcept {
    queries[static_cast<std::size_t>(t)][static_cast<std::size_t>(a)][static_cast<std::size_t>(c)].add();
  }
  void observe_latency(std::uint64_t us) noexcept;
};

/// A current upstream's counter index (its UpstreamTable index), its metric label, and what its
/// index's counters held when the index was given to it (counted for an upstream long gone).
struct UpstreamLabel {
  std::size_t index = 0;
  std::string address;
  std::uint64_t sent_before = 0;
  std::uint64_t timeouts_before = 0;
  std::uint64_t downs_before = 0;
};

/// Writes serve's metric families (control plane: allocates): the sum of `workers`' counters,
/// one rule_matches series per counter of a rule in `rules`, and per current upstream its
/// counters and, from `health`, its state.
void collect_metrics(common::Exposition& out, const std::vector<const Stats*>& workers, const policy::RuleSet& rules,
                     const std::vector<UpstreamLabel>& upstreams, const HealthTable& health);

}  // namespace dnsfence::proxy
