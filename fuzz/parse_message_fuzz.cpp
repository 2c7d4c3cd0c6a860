// libFuzzer target: the whole receive path of a query — gate, parse, iterate, build the reply.
#include <array>
#include <cstddef>
#include <cstdint>

#include "dns/gate.hpp"
#include "dns/response.hpp"
#include "dns/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnsfence::dns;
  const Bytes packet(data, size);
  const GateResult g = gate(packet);
  std::array<std::uint8_t, 65535> out;
  (void)build_gate_reply(g, Transport::Udp, out);
  if (auto m = parse(packet)) {
    (void)message_text(*m);  // walks every name, record and option
    if (m->question()) (void)build_nxdomain(*m, nullptr, Transport::Udp, out);
  }
  return 0;
}
