#pragma once
// Hex text <-> bytes, for fixtures, the decode command and logs. Control plane (allocates).

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dnsfence::common {

/// The value of one hex digit (either case), or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Parses hex digits separated by any whitespace; '#' starts a comment to the end of the line.
/// Fails with "line N: reason" on a non-hex character or an odd number of digits.
std::expected<std::vector<std::uint8_t>, std::string> parse_hex(std::string_view text);

/// Lowercase hex, `per_line` octets a line separated by spaces (0: one line, no spaces).
std::string to_hex(std::span<const std::uint8_t> bytes, std::size_t per_line = 16);

}  // namespace dnsfence::common
