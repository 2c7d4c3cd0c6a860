#pragma once
// Bounds-checked big-endian cursors over caller-owned bytes, after Knot's wire_ctx: the first
// failure is sticky and every later operation is a no-op, so parse code reads like the RFC and
// checks ok() once at the end.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace dnsfence::dns {

/// Wire bytes are always viewed, never owned.
using Bytes = std::span<const std::uint8_t>;

/// Reads big-endian integers and byte runs. After the first out-of-bounds read ok() is false and
/// every read returns zero (or an empty span) without moving.
class Reader {
 public:
  explicit Reader(Bytes data, std::size_t pos = 0) noexcept
      : data_(data), pos_(pos <= data.size() ? pos : data.size()), ok_(pos <= data.size()) {}

  std::uint8_t u8() noexcept { return take(1) ? data_[pos_++] : 0; }
  std::uint16_t u16() noexcept {
    if (!take(2)) return 0;
    auto v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() noexcept {
    std::uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  /// The next n bytes as a view; empty (and a sticky error) if fewer remain.
  Bytes bytes(std::size_t n) noexcept {
    if (!take(n)) return {};
    Bytes v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  void skip(std::size_t n) noexcept {
    if (take(n)) pos_ += n;
  }
  /// Moves to an absolute offset; an offset past the end is an error.
  void seek(std::size_t pos) noexcept {
    if (pos > data_.size()) ok_ = false;
    if (ok_) pos_ = pos;
  }
  /// Marks the cursor failed, e.g. when a read value breaks a protocol rule.
  void fail() noexcept { ok_ = false; }

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return data_.size() - pos_; }
  [[nodiscard]] Bytes data() const noexcept { return data_; }

 private:
  bool take(std::size_t n) noexcept {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }

  Bytes data_;
  std::size_t pos_;
  bool ok_;
};

/// Writes big-endian integers and byte runs into a caller-provided buffer. Writing past the end
/// sets a sticky error; nothing is ever written out of bounds and nothing is allocated.
class Writer {
 public:
  explicit Writer(std::span<std::uint8_t> out) noexcept : out_(out) {}

  void u8(std::uint8_t v) noexcept {
    if (take(1)) out_[pos_++] = v;
  }
  void u16(std::uint16_t v) noexcept {
    if (!take(2)) return;
    out_[pos_++] = static_cast<std::uint8_t>(v >> 8);
    out_[pos_++] = static_cast<std::uint8_t>(v);
  }
  void u32(std::uint32_t v) noexcept {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(Bytes v) noexcept {
    if (v.empty() || !take(v.size())) return;
    std::memcpy(out_.data() + pos_, v.data(), v.size());
    pos_ += v.size();
  }
  /// Overwrites two bytes already written (a count or an RDLENGTH).
  void patch_u16(std::size_t at, std::uint16_t v) noexcept {
    if (at + 2 > pos_) {
      ok_ = false;
      return;
    }
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  /// Forgets everything written after `size` and clears the error (used to truncate a reply).
  void rewind(std::size_t size) noexcept {
    if (size <= pos_) pos_ = size;
    ok_ = true;
  }

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] std::size_t size() const noexcept { return pos_; }
  [[nodiscard]] Bytes written() const noexcept { return Bytes(out_.data(), pos_); }

 private:
  bool take(std::size_t n) noexcept {
    if (!ok_ || n > out_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace dnsfence::dns
