// libFuzzer target: hex text. Arbitrary text either fails to parse or re-encodes to the same bytes;
// arbitrary bytes survive to_hex -> parse_hex in both layouts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/hex.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnsfence::common;
  const std::span<const std::uint8_t> raw(data, size);
  if (const auto parsed = parse_hex(std::string_view(reinterpret_cast<const char*>(data), size))) {
    if (parse_hex(to_hex(*parsed)) != parsed) __builtin_trap();
  }
  for (const std::size_t per_line : {std::size_t{0}, std::size_t{16}}) {
    const auto back = parse_hex(to_hex(raw, per_line));
    if (!back || !std::ranges::equal(*back, raw)) __builtin_trap();
  }
  return 0;
}
