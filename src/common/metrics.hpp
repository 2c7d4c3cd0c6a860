#pragma once
// A tiny Prometheus registry: counters and gauges with fixed label sets, registered on the control
// plane, updated lock-free on the data plane, exposed in the text format (version 0.0.4). Metrics
// whose values live elsewhere (serve's per-worker counters, summed at scrape time) are added as
// collectors that write through an Exposition: one place checks names and escapes label values,
// for every daemon.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
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

/// One scrape's text, written family by family. Label values are escaped as the format requires
/// (backslash, double quote and line feed, nothing else); metric and label names are checked.
/// Throws std::invalid_argument on a bad name, a family written twice, or a sample outside a family.
class Exposition {
 public:
  enum class Type : std::uint8_t { Counter, Gauge, Histogram };
  /// Starts a family: its # HELP and # TYPE lines.
  void family(std::string_view name, std::string_view help, Type type);
  /// A sample of the current (counter or gauge) family.
  void sample(const Labels& labels, std::uint64_t value);
  void sample(const Labels& labels, std::int64_t value);
  /// The current (histogram) family's series for `labels`: `counts[i]` observations at most
  /// `upper_bounds[i]` and above the bound before (not cumulative; one more for +Inf), and their sum.
  void histogram(const Labels& labels, std::span<const double> upper_bounds, std::span<const std::uint64_t> counts,
                 double sum);
  [[nodiscard]] const std::string& text() const noexcept { return out_; }

 private:
  void line(std::string_view suffix, const Labels& labels, std::string_view value);
  std::string out_;
  std::string current_;
  Type type_ = Type::Counter;
  std::set<std::string, std::less<>> families_;
};

/// Writes families computed at scrape time.
using Collector = std::function<void(Exposition&)>;

/// Owns every metric; references it returns stay valid for the registry's lifetime.
class Registry {
 public:
  /// Registers (or returns the existing) counter series `name{labels}`. Throws std::invalid_argument
  /// on a name or label name Prometheus rejects, or when `name` is already a gauge.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  /// As counter(), for a gauge.
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  /// Adds families that `collect` writes at each scrape (after the registered ones, in the order
  /// added). It runs on the scraping thread, under the registry's lock.
  void add_collector(Collector collect);
  /// The text exposition of every series, families in registration order, then the collectors'.
  /// Throws std::invalid_argument if a collector writes a bad name or a family twice.
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
  std::vector<Collector> collectors_;
};

}  // namespace dnsfence::common
