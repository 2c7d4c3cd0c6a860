#include "common/metrics.hpp"

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

}  // namespace

Registry::Series& Registry::series(const std::string& name, const std::string& help, const Labels& labels,
                                   bool is_counter) {
  if (!valid_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& [label, value] : labels) {
    if (!valid_name(label) || label.find(':') != std::string::npos)
      throw std::invalid_argument("invalid label name: " + label);
  }
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

std::string Registry::expose() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + escape(f.help, false) + "\n";
    out += "# TYPE " + f.name + (f.is_counter ? " counter\n" : " gauge\n");
    for (const auto& s : f.series) {
      const std::string value = s.counter ? std::to_string(s.counter->value()) : std::to_string(s.gauge->value());
      out += f.name + label_text(s.labels) + " " + value + "\n";
    }
  }
  return out;
}

}  // namespace dnsfence::common
