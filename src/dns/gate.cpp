#include "dns/gate.hpp"

namespace dnsfence::dns {

GateResult gate(Bytes packet) noexcept {
  GateResult g;
  Reader r(packet);
  g.header = read_header(r);
  if (!r.ok() || g.header.has(flag::QR)) return g;  // Drop: nothing to answer, or a reflection

  auto parsed = parse(packet);
  if (parsed)
    g.message = *parsed;
  else
    g.error = parsed.error();

  if (g.header.opcode() != static_cast<std::uint8_t>(Opcode::Query)) {
    g.action = GateAction::NotImp;
  } else if (g.header.qdcount != 1 || !parsed) {
    g.action = GateAction::FormErr;
  } else if (parsed->edns() && parsed->edns()->version != 0) {
    g.action = GateAction::BadVers;
  } else {
    g.action = GateAction::Accept;
  }
  return g;
}

}  // namespace dnsfence::dns
