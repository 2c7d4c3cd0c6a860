// libFuzzer target: names on arbitrary bytes. Reads name after name from offset 12 (so later names
// may point back at earlier ones), then checks that every view of a name agrees with its copy.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "dns/name.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnsfence::dns;
  const Bytes packet(data, size);
  static const Name kCanary = Name::from_text("use-application-dns.net").value();
  Reader r(packet, std::min(size, kHeaderSize));
  while (r.ok() && r.remaining() > 0) {
    const auto ref = read_name(r);
    if (!ref) break;
    const Name copy = Name::from_packet(packet, *ref);
    if (copy.wire().size() != ref->length || copy.labels() != ref->labels) __builtin_trap();
    if (!equals(packet, *ref, copy) || !is_subdomain(packet, *ref, copy)) __builtin_trap();
    (void)is_subdomain(packet, *ref, kCanary);
    if (to_text(packet, *ref) != copy.to_text()) __builtin_trap();
    const auto again = Name::from_text(copy.to_text());  // any wire octet must survive presentation
    if (!again || !std::ranges::equal(again->wire(), copy.wire())) __builtin_trap();
  }
  return 0;
}
