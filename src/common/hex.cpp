#include "common/hex.hpp"

namespace dnsfence::common {
std::expected<std::vector<std::uint8_t>, std::string> parse_hex(std::string_view text) {
  std::vector<std::uint8_t> out;
  int pending = -1;
  int line = 1;
  bool comment = false;
  for (char c : text) {
    if (c == '\n') {
      ++line;
      comment = false;
      continue;
    }
    if (comment || c == ' ' || c == '\t' || c == '\r') continue;
    if (c == '#') {
      comment = true;
      continue;
    }
    const int v = hex_value(c);
    if (v < 0) return std::unexpected("line " + std::to_string(line) + ": not a hex digit: '" + c + "'");
    if (pending < 0) {
      pending = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(pending << 4 | v));
      pending = -1;
    }
  }
  if (pending >= 0) return std::unexpected("line " + std::to_string(line) + ": odd number of hex digits");
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes, std::size_t per_line) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
    if (per_line == 0) continue;
    out += (i % per_line == per_line - 1 || i + 1 == bytes.size()) ? '\n' : ' ';
  }
  return out;
}

}  // namespace dnsfence::common
