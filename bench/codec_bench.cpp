// The codec's per-packet cost on the proxy's hot path: gate (header checks + full parse), the
// canary check, and building the NXDOMAIN reply; plus parsing a 20-record response.
// Each iteration handles one packet, so the reported time is ns/packet.

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dns/gate.hpp"
#include "dns/response.hpp"

namespace dnsfence::dns {
namespace {

// Appends a name in uncompressed wire form.
void put_name(Writer& w, std::string_view text) {
  w.bytes(Name::from_text(text).value().wire());
}

// What `kdig @server www.example.net A` sends: RD and AD set, EDNS 1232 with a client COOKIE.
std::vector<std::uint8_t> query(std::string_view qname) {
  std::vector<std::uint8_t> buf(512);
  Writer w(buf);
  write_header(w, Header{.id = 0x5a17, .flags = flag::RD | flag::AD, .qdcount = 1, .arcount = 1});
  put_name(w, qname);
  w.u16(rrtype::A);
  w.u16(rrclass::IN);
  w.u8(0);  // OPT: root owner, type, payload size, ext-rcode/version/flags, one option
  w.u16(rrtype::OPT);
  w.u16(1232);
  w.u32(0);
  w.u16(12);
  w.u16(ednsopt::Cookie);
  w.u16(8);
  w.bytes(std::array<std::uint8_t, 8>{0x1b, 0x4e, 0x93, 0x27, 0xc0, 0x55, 0x81, 0xfa});
  buf.resize(w.size());
  return buf;
}

// A resolver's answer with 20 A records, each owner compressed to the question name, and OPT.
std::vector<std::uint8_t> response20() {
  std::vector<std::uint8_t> buf(1232);
  Writer w(buf);
  write_header(w, Header{.id = 0x5a17, .flags = 0x8180, .qdcount = 1, .ancount = 20, .arcount = 1});
  put_name(w, "pool.example.net");
  w.u16(rrtype::A);
  w.u16(rrclass::IN);
  for (std::uint8_t i = 0; i < 20; ++i) {
    w.u16(0xc00c);
    w.u16(rrtype::A);
    w.u16(rrclass::IN);
    w.u32(300);
    w.u16(4);
    w.bytes(std::array<std::uint8_t, 4>{198, 51, 100, i});
  }
  w.u8(0);
  w.u16(rrtype::OPT);
  w.u16(1232);
  w.u32(0);
  w.u16(0);
  buf.resize(w.size());
  return buf;
}

// gate -> build NXDOMAIN, as serve does for a name it answers itself.
void BM_QueryGateNxdomain(benchmark::State& state) {
  const auto packet = query("www.example.net");
  std::array<std::uint8_t, 1232> out{};
  for (auto _ : state) {
    const GateResult g = gate(packet);
    auto n = build_nxdomain(*g.message, nullptr, Transport::Udp, out);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueryGateNxdomain);

// gate -> is the name under use-application-dns.net? -> NXDOMAIN with the canary zone's SOA.
void BM_CanaryGateSubdomainNxdomain(benchmark::State& state) {
  const auto packet = query("Probe-7.Use-Application-DNS.net");
  const Name canary = Name::from_text("use-application-dns.net").value();
  const Soa soa{.zone = canary,
                .mname = Name::from_text("ns.dnsfence.invalid").value(),
                .rname = Name::from_text("hostmaster.dnsfence.invalid").value()};
  std::array<std::uint8_t, 1232> out{};
  for (auto _ : state) {
    const GateResult g = gate(packet);
    const bool hit = is_subdomain(packet, g.message->question()->name, canary);
    auto n = build_nxdomain(*g.message, hit ? &soa : nullptr, Transport::Udp, out);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CanaryGateSubdomainNxdomain);

// parse a 20-record response and walk every record (what a forwarder does to an upstream reply).
void BM_ParseResponse20Records(benchmark::State& state) {
  const auto packet = response20();
  for (auto _ : state) {
    auto m = parse(packet);
    std::uint32_t ttl_sum = 0;
    for (const Record& rr : m->records(Section::Answer)) ttl_sum += rr.ttl;
    benchmark::DoNotOptimize(ttl_sum);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseResponse20Records);

}  // namespace
}  // namespace dnsfence::dns
