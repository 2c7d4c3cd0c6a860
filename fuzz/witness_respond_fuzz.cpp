// libFuzzer target: the witness's whole per-packet path — gate, zone lookup, token decoding and
// HMAC check, evidence (EDNS options, ECS), every reply builder. The first octet picks the
// transport and the peer's family, so the v4/v6 referral and TCP paths are reached too.
#include <array>
#include <cstddef>
#include <cstdint>

#include "witness/fake_clock.hpp"
#include "witness/memory_store.hpp"
#include "witness/responder.hpp"

namespace {

using namespace dnsfence;
using namespace dnsfence::witness;

witness::ZoneConfig zone() {
  ZoneConfig z;
  z.zone = dns::Name::from_text("witness.test").value();
  z.ns = {NsHost{dns::Name::from_text("ns1.witness.test").value(), {common::IpAddress::parse("192.0.2.53").value()}}};
  z.ns_v4 = {
      NsHost{dns::Name::from_text("ns4.witness.test").value(), {common::IpAddress::parse("192.0.2.54").value()}}};
  z.ns_v6 = {
      NsHost{dns::Name::from_text("ns6.a.witness.test").value(), {common::IpAddress::parse("2001:db8::54").value()}}};
  z.answer_a = {common::IpAddress::parse("192.0.2.80").value()};
  z.soa_rname = dns::Name::from_text("hostmaster.witness.test").value();
  return z;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const testing::FakeClock clock;
  static MemoryStore store(StoreLimits{}, clock);
  static const Keyring keys(Key(std::vector<std::uint8_t>(32, 0x5a)));
  static const ZoneConfig config = zone();
  static const Responder responder(config, keys, store, clock);
  if (size == 0) return 0;
  Peer peer{common::SocketAddress{common::IpAddress::parse((data[0] & 1) != 0 ? "2001:db8::2" : "198.51.100.2").value(),
                                  4242},
            (data[0] & 2) != 0 ? dns::Transport::Tcp : dns::Transport::Udp};
  std::array<std::uint8_t, 65535> out;
  const Decision d = responder.respond(dns::Bytes(data + 1, size - 1), peer, out);
  if (d.reply_size > out.size()) __builtin_trap();
  return 0;
}
