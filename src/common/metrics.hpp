#pragma once
// A tiny Prometheus registry: counters and gauges with fixed label sets, registered on the control
// plane, updated lock-free on the data plane, exposed in the text format (version 0.0.4).

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace dnsfence::common {

/// Label pairs of one series, e.g. {{"outcome", "answer"}}. Values are escaped on exposition.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. inc() is lock-free and never fails.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down. set()/add() are lock-free and never fail.
class Gauge {
 public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  [[nodiscard]] std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

/// Owns every metric; references it returns stay valid for the registry's lifetime.
class Registry {
 public:
  /// Registers (or returns the existing) counter series `name{labels}`. Throws std::invalid_argument
  /// on a name or label name Prometheus rejects, or when `name` is already a gauge.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  /// As counter(), for a gauge.
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  /// The text exposition of every series, families in registration order.
  [[nodiscard]] std::string expose() const;

 private:
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
  };
  struct Family {
    std::string name;
    std::string help;
    bool is_counter = true;
    std::deque<Series> series;
  };
  Series& series(const std::string& name, const std::string& help, const Labels& labels, bool is_counter);

  mutable std::mutex mutex_;
  std::deque<Family> families_;
};

}  // namespace dnsfence::common
