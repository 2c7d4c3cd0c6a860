// libFuzzer target: the detector's parsers of untrusted input — captured frames (first byte picks
// the link type) and the text of resolv.conf and DHCP lease files.
#include <pcap/dlt.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detector/capture.hpp"
#include "detector/inventory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnsfence::detector;
  if (size == 0) return 0;
  constexpr std::array<int, 4> kLinks = {DLT_LINUX_SLL2, DLT_LINUX_SLL, DLT_EN10MB, DLT_RAW};
  (void)decode_frame(kLinks[data[0] % kLinks.size()], std::span<const std::uint8_t>(data + 1, size - 1), 0.0);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)parse_resolv_conf(text);
  (void)parse_dhclient_leases(text);
  (void)parse_env_lease(text, "DNS");
  return 0;
}
