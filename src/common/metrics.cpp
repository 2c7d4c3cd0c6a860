#include "common/metrics.hpp"

#include <array>
#include <charconv>
#include <stdexcept>

namespace dnsfence::common {
namespace {

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string escape(const std::string& value, bool quote_too) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote_too) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first + "=\"" + escape(labels[i].second, true) + "\"";
  }
  return out + "}";
}

std::string number(double v) {
  std::array<char, 32> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return ec == std::errc() ? std::string(buf.data(), end) : "NaN";
}

void check_labels(const Labels& labels) {
  for (const auto& [label, value] : labels) {
    if (!valid_name(label) || label.find(':') != std::string::npos || label.starts_with("__"))
      throw std::invalid_argument("invalid label name: " + label);
  }
}

}  // namespace

void Exposition::family(std::string_view name, std::string_view help, Type type) {
  const std::string n(name);
  if (!valid_name(n)) throw std::invalid_argument("invalid metric name: " + n);
  if (!families_.insert(n).second) throw std::invalid_argument("metric family written twice: " + n);
  current_ = n;
  type_ = type;
  static constexpr std::array<const char*, 3> kTypes = {"counter", "gauge", "histogram"};
  out_ += "# HELP " + n + " " + escape(std::string(help), false) + "\n";
  out_ += "# TYPE " + n + " " + kTypes[static_cast<std::size_t>(type)] + "\n";
}

void Exposition::line(std::string_view suffix, const Labels& labels, std::string_view value) {
  if (current_.empty()) throw std::invalid_argument("metric sample outside a family");
  check_labels(labels);
  out_ += current_;
  out_ += suffix;
  out_ += label_text(labels);
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void Exposition::sample(const Labels& labels, std::uint64_t value) {
  if (type_ == Type::Histogram) throw std::invalid_argument("plain sample in histogram " + current_);
  line("", labels, std::to_string(value));
}

void Exposition::sample(const Labels& labels, std::int64_t value) {
  if (type_ == Type::Histogram) throw std::invalid_argument("plain sample in histogram " + current_);
  line("", labels, std::to_string(value));
}

void Exposition::histogram(const Labels& labels, std::span<const double> upper_bounds,
                           std::span<const std::uint64_t> counts, double sum) {
  if (type_ != Type::Histogram) throw std::invalid_argument("histogram series in " + current_);
  if (counts.size() != upper_bounds.size() + 1) throw std::invalid_argument("histogram buckets of " + current_);
  for (const auto& [label, value] : labels)
    if (label == "le") throw std::invalid_argument("histogram label le is reserved: " + current_);
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < counts.size(); ++b) {
    cumulative += counts[b];
    Labels with_le = labels;
    with_le.emplace_back("le", b < upper_bounds.size() ? number(upper_bounds[b]) : "+Inf");
    line("_bucket", with_le, std::to_string(cumulative));
  }
  line("_sum", labels, number(sum));
  line("_count", labels, std::to_string(cumulative));
}

Registry::Series& Registry::series(const std::string& name, const std::string& help, const Labels& labels,
                                   bool is_counter) {
  if (!valid_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  check_labels(labels);
  std::lock_guard lock(mutex_);
  Family* family = nullptr;
  for (auto& f : families_) {
    if (f.name == name) family = &f;
  }
  if (family == nullptr) family = &families_.emplace_back(Family{name, help, is_counter, {}});
  if (family->is_counter != is_counter) throw std::invalid_argument("metric registered with another type: " + name);
  for (auto& s : family->series) {
    if (s.labels == labels) return s;
  }
  Series& s = family->series.emplace_back();
  s.labels = labels;
  if (is_counter) {
    s.counter = std::make_unique<Counter>();
  } else {
    s.gauge = std::make_unique<Gauge>();
  }
  return s;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  return *series(name, help, labels, true).counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  return *series(name, help, labels, false).gauge;
}

void Registry::add_collector(Collector collect) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::expose() const {
  std::lock_guard lock(mutex_);
  Exposition out;
  for (const auto& f : families_) {
    out.family(f.name, f.help, f.is_counter ? Exposition::Type::Counter : Exposition::Type::Gauge);
    for (const auto& s : f.series) {
      if (s.counter) {
        out.sample(s.labels, s.counter->value());
      } else {
        out.sample(s.labels, s.gauge->value());
      }
    }
  }
  for (const auto& collect : collectors_) collect(out);
  return out.text();
}

}  // namespace dnsfence::common
