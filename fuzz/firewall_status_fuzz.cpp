// libFuzzer target: the parsers of `firewall status` — kernel listings from nft (JSON),
// iptables-save -c and ipset save. Malformed JSON may throw nlohmann's exceptions, nothing else.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "firewall/status.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnsfence::firewall;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Listing l;
  parse_iptables_save(text, Family::V4, l);
  parse_iptables_save(text, Family::V6, l);
  parse_ipset_save(text, l);
  try {
    (void)parse_nft_listing(text);
  } catch (const nlohmann::json::exception&) {
  }
  return 0;
}
