#pragma once
// What one worker hands the witness reporter: the queries under the witness zone it intercepted,
// with the address each client really asked (tproxy's original destination). A single-producer
// (the worker) single-consumer (the reporter thread) ring of fixed-size entries allocated once:
// offering takes no lock, never allocates and never waits; when the ring is full the sighting is
// dropped and counted. Every other query costs one suffix comparison, and only when reporting is
// configured.

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/net.hpp"
#include "dns/name.hpp"
#include "dns/response.hpp"
#include "policy/rule_set.hpp"
#include "proxy/pipeline.hpp"

namespace dnsfence::proxy {

/// The system clock in milliseconds since the epoch: the time reports carry.
std::int64_t unix_ms() noexcept;

/// One intercepted query under the witness zone.
struct Sighting {
  dns::Name name;                 // the question name as asked (case kept)
  common::IpAddress destination;  // the address the client sent it to
  policy::DestinationClass destination_class = policy::DestinationClass::Unknown;
  dns::Transport transport = dns::Transport::Udp;
  Action action = Action::Forward;  // Forward (redirected), Pass, Refuse, Local
  std::int64_t unix_ms = 0;         // when it arrived (system clock)
};

class ReportQueue {
 public:
  /// Holds at most `capacity` sightings (rounded up to a power of two). Allocates the ring now.
  ReportQueue(const dns::Name& zone, std::size_t capacity);
  ReportQueue(const ReportQueue&) = delete;
  ReportQueue& operator=(const ReportQueue&) = delete;

  /// Producer (the worker), after the pipeline decided on `q`: queues a sighting if the query's
  /// name is the zone or below it, its original destination is known (tproxy) and serve
  /// forwarded, passed, refused or answered it; a full ring counts it in dropped(). Never
  /// allocates, never blocks. Returns whether it was queued.
  bool offer(const Query& q, const Decision& d) noexcept;
  /// Consumer (the reporter thread): appends up to `max` sightings to `out`, oldest first.
  std::size_t drain(std::vector<Sighting>& out, std::size_t max);

  [[nodiscard]] std::uint64_t offered() const noexcept { return offered_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  dns::Name zone_;
  std::unique_ptr<Sighting[]> ring_;
  std::size_t mask_ = 0;
  alignas(64) std::atomic<std::size_t> head_{0};  // next to write (producer)
  alignas(64) std::atomic<std::size_t> tail_{0};  // next to read (consumer)
  std::atomic<std::uint64_t> offered_{0};         // single writer: the producer
  std::atomic<std::uint64_t> dropped_{0};
};

/// "redirected", "passed", "refused", "answered" (the probe report's action).
std::string_view report_action(Action a) noexcept;

}  // namespace dnsfence::proxy
