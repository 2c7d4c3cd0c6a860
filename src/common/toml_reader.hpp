#pragma once
// The one TOML reader of dnsfence's configuration files (serve and firewall in config.cpp, the
// witness in witness/config.cpp): toml++ parses, TableReader reads one table strictly — a wrong
// type, a value out of range, a bad address or an unknown key (a typo) is a ConfigError
// "FILE:LINE:COL: reason" at the value it concerns. Control plane: everything here may throw.

#include <toml++/toml.h>

#include "common/config_error.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dnsfence::common {

/// Throws ConfigError("FILE:LINE:COL: reason") for the region `where`.
[[noreturn]] void fail_at(const std::string& file, const toml::source_region& where, const std::string& reason);

/// Parses TOML text; a syntax error is a ConfigError with its position. `source` names the text.
toml::table parse_toml(std::string_view text, const std::string& source);
/// Reads a whole file; ConfigError("FILE: cannot open") if it cannot.
std::string read_text_file(const std::string& path);

/// Reads the keys of one table strictly. Each accessor leaves `out` untouched when the key is
/// absent. Call reject_unknown() last.
class TableReader {
 public:
  /// `path` is the table's dotted name in messages ("serve", "witness.ns"); "" for the root.
  TableReader(const toml::table& table, std::string file, std::string path)
      : table_(table), file_(std::move(file)), path_(std::move(path)) {}

  void boolean(std::string_view key, bool& out);
  /// An integer within [min, max] into any integer type wide enough for the range.
  template <typename T>
  void integer(std::string_view key, T& out, std::int64_t min, std::int64_t max) {
    if (const auto* n = node(key)) out = static_cast<T>(ranged(*n, key, min, max));
  }
  /// Any 32-bit unsigned integer.
  void integer(std::string_view key, std::uint32_t& out) { integer(key, out, 0, 0xffffffff); }
  /// Milliseconds in [1, max].
  void millis(std::string_view key, std::chrono::milliseconds& out, std::int64_t max = 3'600'000);
  /// Seconds in [min, max].
  void seconds(std::string_view key, std::chrono::seconds& out, std::int64_t min, std::int64_t max);
  /// Returns true if the key was present.
  bool string(std::string_view key, std::string& out);
  /// A string converted by `convert` (returns expected<T, std::string>); its error is reported at
  /// the value's position.
  template <typename T, typename F>
  void value(std::string_view key, T& out, F convert) {
    const auto* n = node(key);
    if (n == nullptr) return;
    auto v = convert(as<std::string>(*n, key, "a string"));
    if (!v) fail_at(file_, n->source(), name(key) + ": " + v.error());
    out = std::move(*v);
  }
  /// An array of strings, each converted by `convert` (returns expected<T, std::string>); with
  /// `max_items`, the item past the limit is an error at its line, and with `unique`, a repeat.
  template <typename T, typename F>
  void list(std::string_view key, std::vector<T>& out, F convert, std::size_t max_items = SIZE_MAX,
            bool unique = false) {
    const auto* n = node(key);
    if (n == nullptr) return;
    const auto* array = n->as_array();
    if (array == nullptr) fail_at(file_, n->source(), name(key) + " must be an array of strings");
    out.clear();
    for (const auto& item : *array) {
      const auto* s = item.as_string();
      if (s == nullptr) fail_at(file_, item.source(), name(key) + " must be an array of strings");
      auto v = convert(s->get());
      if (!v) fail_at(file_, item.source(), name(key) + ": " + v.error());
      if (out.size() == max_items)
        fail_at(file_, item.source(), name(key) + ": at most " + std::to_string(max_items) + " entries");
      if (unique && std::find(out.begin(), out.end(), *v) != out.end())
        fail_at(file_, item.source(), name(key) + ": '" + std::string(s->get()) + "' is listed twice");
      out.push_back(std::move(*v));
    }
  }
  template <typename E>
  void choice(std::string_view key, E& out, std::initializer_list<std::pair<std::string_view, E>> options) {
    const auto* n = node(key);
    if (n == nullptr) return;
    const std::string v = as<std::string>(*n, key, "a string");
    std::string names;
    for (const auto& [text, value] : options) {
      if (v == text) {
        out = value;
        return;
      }
      names += (names.empty() ? "" : ", ") + std::string(text);
    }
    fail_at(file_, n->source(), name(key) + " must be one of " + names + ", not '" + v + "'");
  }
  /// A sub-table, or nullptr when absent.
  const toml::table* table(std::string_view key);
  /// An array of tables ([[key]]), or nullptr when absent.
  const toml::array* tables(std::string_view key);
  /// Throws a ConfigError about `key` at its value (at the table when the key is absent).
  [[noreturn]] void fail(std::string_view key, const std::string& reason) const;
  /// Call last: any key not read above is unknown.
  void reject_unknown() const;
  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] const toml::table& raw() const { return table_; }
  /// The dotted name of `key` in this table, for messages.
  [[nodiscard]] std::string name(std::string_view key) const;

 private:
  const toml::node* node(std::string_view key);
  template <typename T>
  T as(const toml::node& n, std::string_view key, const char* what) const {
    auto v = n.value_exact<T>();
    if (!v) fail_at(file_, n.source(), name(key) + " must be " + what);
    return *v;
  }
  std::int64_t ranged(const toml::node& n, std::string_view key, std::int64_t min, std::int64_t max) const;

  const toml::table& table_;
  std::string file_;
  std::string path_;
  std::set<std::string> seen_;
};

}  // namespace dnsfence::common
