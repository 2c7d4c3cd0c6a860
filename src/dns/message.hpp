#pragma once
// A parsed DNS message: a small value of offsets into caller-owned bytes. Parsing validates the
// whole packet (names, counts, record lengths, the OPT record) and allocates nothing; records and
// EDNS options are iterated lazily as views.

#include <cstdint>
#include <expected>
#include <iterator>
#include <optional>

#include "dns/header.hpp"
#include "dns/name.hpp"
#include "dns/types.hpp"
#include "dns/wire.hpp"

namespace dnsfence::dns {

struct Question {
  NameRef name;
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
};

/// One EDNS option as a view into the packet.
struct EdnsOption {
  std::uint16_t code = 0;
  Bytes data;
};

/// Iterates the options of an OPT record (already validated by parse()).
class EdnsOptions {
 public:
  class iterator {
   public:
    using value_type = EdnsOption;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(Bytes rest) noexcept : rest_(rest) { load(); }
    const EdnsOption& operator*() const noexcept { return current_; }
    const EdnsOption* operator->() const noexcept { return &current_; }
    iterator& operator++() noexcept {
      rest_ = rest_.subspan(4 + current_.data.size());
      load();
      return *this;
    }
    void operator++(int) noexcept { ++*this; }
    bool operator==(const iterator& o) const noexcept { return rest_.size() == o.rest_.size(); }

   private:
    void load() noexcept;
    Bytes rest_;
    EdnsOption current_;
  };
  explicit EdnsOptions(Bytes rdata) noexcept : rdata_(rdata) {}
  [[nodiscard]] iterator begin() const noexcept { return iterator(rdata_); }
  [[nodiscard]] iterator end() const noexcept { return iterator(rdata_.last(0)); }

 private:
  Bytes rdata_;
};

/// The EDNS(0) OPT pseudo-record (RFC 6891).
struct Edns {
  std::uint16_t udp_size = 0;       // the requestor's payload size, as sent (may be < 512)
  std::uint8_t extended_rcode = 0;  // upper 8 bits of the 12-bit RCODE
  std::uint8_t version = 0;
  bool do_bit = false;
  std::uint16_t rdata_offset = 0;
  std::uint16_t rdata_length = 0;
};

enum class Section : std::uint8_t { Answer = 0, Authority = 1, Additional = 2 };

/// One resource record as offsets into the packet.
struct Record {
  NameRef owner;
  std::uint16_t type = 0;
  std::uint16_t rclass = 0;
  std::uint32_t ttl = 0;
  std::uint16_t rdata_offset = 0;
  std::uint16_t rdata_length = 0;
};

/// A validated message. Copyable and small; it refers to the packet it was parsed from, which
/// must outlive it.
class Message {
 public:
  class RecordIterator;
  class Records;

  [[nodiscard]] Bytes packet() const noexcept { return packet_; }
  [[nodiscard]] const Header& header() const noexcept { return header_; }
  /// The question, absent when QDCOUNT is 0 (some error responses).
  [[nodiscard]] const std::optional<Question>& question() const noexcept { return question_; }
  [[nodiscard]] const std::optional<Edns>& edns() const noexcept { return edns_; }
  /// Offset just past the question section: where answers start.
  [[nodiscard]] std::size_t question_end() const noexcept { return section_start_[0]; }
  /// The records of one section, OPT included in Additional.
  [[nodiscard]] Records records(Section s) const noexcept;
  /// The options of the OPT record (empty without EDNS).
  [[nodiscard]] EdnsOptions edns_options() const noexcept;
  /// The RCODE with EDNS's extended bits.
  [[nodiscard]] std::uint16_t rcode() const noexcept {
    return static_cast<std::uint16_t>((edns_ ? edns_->extended_rcode << 4 : 0) | header_.rcode());
  }

 private:
  friend std::expected<Message, ParseError> parse(Bytes packet) noexcept;
  Bytes packet_;
  Header header_;
  std::optional<Question> question_;
  std::optional<Edns> edns_;
  std::uint16_t section_start_[4] = {};  // answer, authority, additional, end
};

class Message::RecordIterator {
 public:
  using value_type = Record;
  using difference_type = std::ptrdiff_t;
  RecordIterator() = default;
  RecordIterator(Bytes packet, std::size_t pos, std::uint16_t left) noexcept;
  const Record& operator*() const noexcept { return current_; }
  const Record* operator->() const noexcept { return &current_; }
  RecordIterator& operator++() noexcept;
  void operator++(int) noexcept { ++*this; }
  bool operator==(const RecordIterator& o) const noexcept { return left_ == o.left_; }

 private:
  void load() noexcept;
  Bytes packet_;
  std::size_t pos_ = 0;
  std::uint16_t left_ = 0;
  Record current_;
};

class Message::Records {
 public:
  Records(Bytes packet, std::size_t pos, std::uint16_t count) noexcept : packet_(packet), pos_(pos), count_(count) {}
  [[nodiscard]] RecordIterator begin() const noexcept { return {packet_, pos_, count_}; }
  [[nodiscard]] RecordIterator end() const noexcept { return {}; }
  [[nodiscard]] std::uint16_t size() const noexcept { return count_; }

 private:
  Bytes packet_;
  std::size_t pos_;
  std::uint16_t count_;
};

/// Parses and validates a whole message. At most one question; an OPT record only in the
/// additional section, owned by the root, at most once, with well-formed options; no bytes after
/// the last record. Never allocates, never throws.
std::expected<Message, ParseError> parse(Bytes packet) noexcept;

/// The RDATA of a record as a view.
inline Bytes rdata(Bytes packet, const Record& rr) noexcept {
  return packet.subspan(rr.rdata_offset, rr.rdata_length);
}

}  // namespace dnsfence::dns
