// libFuzzer target: presentation-format names. Whatever from_text accepts must survive
// to_text -> from_text octet for octet, and its text form must be stable.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dns/name.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using dnsfence::dns::Name;
  const auto name = Name::from_text(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!name) return 0;
  if (name->wire().empty() || name->wire().back() != 0) __builtin_trap();
  const std::string shown = name->to_text();
  const auto again = Name::from_text(shown);
  if (!again || !(*again == *name) || !std::ranges::equal(again->wire(), name->wire())) __builtin_trap();
  if (again->labels() != name->labels() || again->to_text() != shown) __builtin_trap();
  return 0;
}
