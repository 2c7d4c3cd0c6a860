#pragma once
// Suffix lookup for name rules at any scale: the rules' names in a hash table, and a query name
// looked up once per label (the name itself, then each parent), so a query costs the same with
// 10 names as with 100,000 — what a blocklist needs. Unbound's local zones and dnsdist's
// SuffixMatchNode answer the same question with a tree; a table of hashed suffixes needs only one
// probe per label and one flat allocation.

#include <cstdint>
#include <optional>
#include <vector>

#include "dns/name.hpp"

namespace dnsfence::policy {

class NameTable {
 public:
  /// Adds `name` with `value` (control plane). A name added twice keeps the smaller value.
  void add(const dns::Name& name, std::uint32_t value);
  /// Builds the index; call after the last add() and before match().
  void build();
  /// The smallest value among the names that equal `name` (in `packet`) or are a suffix of it,
  /// label-wise and ignoring ASCII case; nullopt: none. Never allocates; cost grows with the
  /// query name's labels, not with the table.
  [[nodiscard]] std::optional<std::uint32_t> match(dns::Bytes packet, dns::NameRef name) const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }
  /// The i-th name added (lowercase), for logs and metric labels.
  [[nodiscard]] dns::Name name(std::size_t i) const noexcept;

 private:
  struct Key {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0;  // in arena_
    std::uint32_t value = 0;
    std::uint8_t length = 0;
  };
  [[nodiscard]] const Key* find(std::uint64_t hash, const std::uint8_t* wire, std::size_t length) const noexcept;

  std::vector<std::uint8_t> arena_;  // the names in lowercase wire form, back to back
  std::vector<Key> keys_;
  // Open addressing, at most half full: a hash tag (high 32 bits) and an index into keys_ + 1
  // (low 32 bits); 0 = empty.
  std::vector<std::uint64_t> slots_;
  std::uint64_t mask_ = 0;
};

}  // namespace dnsfence::policy
