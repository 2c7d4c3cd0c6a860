#include "common/toml_reader.hpp"

#include <fstream>
#include <sstream>

namespace dnsfence::common {

void fail_at(const std::string& file, const toml::source_region& where, const std::string& reason) {
  throw ConfigError(file + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column) + ": " +
                    reason);
}

toml::table parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    fail_at(source, e.source(), std::string(e.description()));
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void TableReader::boolean(std::string_view key, bool& out) {
  if (const auto* n = node(key)) out = as<bool>(*n, key, "a boolean");
}

void TableReader::millis(std::string_view key, std::chrono::milliseconds& out, std::int64_t max) {
  if (const auto* n = node(key)) out = std::chrono::milliseconds(ranged(*n, key, 1, max));
}

void TableReader::seconds(std::string_view key, std::chrono::seconds& out, std::int64_t min, std::int64_t max) {
  if (const auto* n = node(key)) out = std::chrono::seconds(ranged(*n, key, min, max));
}

bool TableReader::string(std::string_view key, std::string& out) {
  const auto* n = node(key);
  if (n != nullptr) out = as<std::string>(*n, key, "a string");
  return n != nullptr;
}

const toml::table* TableReader::table(std::string_view key) {
  const auto* n = node(key);
  if (n == nullptr) return nullptr;
  if (!n->is_table()) fail_at(file_, n->source(), name(key) + " must be a table");
  return n->as_table();
}

const toml::array* TableReader::tables(std::string_view key) {
  const auto* n = node(key);
  if (n == nullptr) return nullptr;
  if (!n->is_array_of_tables())
    fail_at(file_, n->source(), name(key) + " must be an array of tables ([[" + name(key) + "]])");
  return n->as_array();
}

void TableReader::fail(std::string_view key, const std::string& reason) const {
  const auto* n = table_.get(key);
  fail_at(file_, n != nullptr ? n->source() : table_.source(), reason);
}

void TableReader::reject_unknown() const {
  for (const auto& [k, v] : table_)
    if (!seen_.contains(std::string(k.str()))) fail_at(file_, v.source(), "unknown key " + name(k.str()));
}

std::string TableReader::name(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const toml::node* TableReader::node(std::string_view key) {
  seen_.insert(std::string(key));
  return table_.get(key);
}

std::int64_t TableReader::ranged(const toml::node& n, std::string_view key, std::int64_t min, std::int64_t max) const {
  const auto v = as<std::int64_t>(n, key, "an integer");
  if (v < min || v > max)
    fail_at(file_, n.source(), name(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

}  // namespace dnsfence::common
