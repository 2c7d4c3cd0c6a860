#include "proxy/report_queue.hpp"

#include <time.h>

#include <bit>

namespace dnsfence::proxy {

std::int64_t unix_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

namespace {

bool reportable(Action a) noexcept {
  return a == Action::Forward || a == Action::Pass || a == Action::Refuse || a == Action::Local;
}

}  // namespace

ReportQueue::ReportQueue(const dns::Name& zone, std::size_t capacity)
    : zone_(zone), ring_(std::make_unique<Sighting[]>(std::bit_ceil(std::max<std::size_t>(capacity, 1)))) {
  mask_ = std::bit_ceil(std::max<std::size_t>(capacity, 1)) - 1;
}

bool ReportQueue::offer(const Query& q, const Decision& d) noexcept {
  if (!q.original_destination || !d.message || !d.message->question() || !reportable(d.action)) return false;
  const dns::NameRef name = d.message->question()->name;
  if (!dns::is_subdomain(d.message->packet(), name, zone_)) return false;
  offered_.store(offered_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  const std::size_t head = head_.load(std::memory_order_relaxed);
  if (head - tail_.load(std::memory_order_acquire) > mask_) {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return false;
  }
  Sighting& s = ring_[head & mask_];
  s.name = dns::Name::from_packet(d.message->packet(), name);
  s.destination = *q.original_destination;
  s.destination_class = d.destination;
  s.transport = q.transport;
  s.action = d.action;
  s.unix_ms = unix_ms();
  head_.store(head + 1, std::memory_order_release);
  return true;
}

std::size_t ReportQueue::drain(std::vector<Sighting>& out, std::size_t max) {
  const std::size_t tail = tail_.load(std::memory_order_relaxed);
  const std::size_t head = head_.load(std::memory_order_acquire);
  const std::size_t n = std::min(head - tail, max);
  for (std::size_t i = 0; i < n; ++i) out.push_back(ring_[(tail + i) & mask_]);
  tail_.store(tail + n, std::memory_order_release);
  return n;
}

std::string_view report_action(Action a) noexcept {
  switch (a) {
    case Action::Pass:
      return "passed";
    case Action::Refuse:
      return "refused";
    case Action::Local:
      return "answered";
    default:
      return "redirected";
  }
}

}  // namespace dnsfence::proxy
