// Proves the parse path, the gate and the builders allocate nothing: the global operator new is
// replaced by one that counts while a flag is set.

#include <gtest/gtest.h>

#include "alloc_counter.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

#include "dns/gate.hpp"
#include "dns/response.hpp"
#include "dns/testing_packets.hpp"

namespace dnsfence::dns {
namespace {

TEST(NoAllocation, ParseGateAndBuildAllocateNothing) {
  auto q = testing::query("a.b.use-application-dns.net", rrtype::HTTPS, 1232, true);
  const Name canary = Name::from_text("use-application-dns.net").value();
  Soa soa;
  soa.zone = canary;
  std::array<std::uint8_t, 512> out{};
  int checked = 0;

  dnsfence::testing::allocations = 0;
  dnsfence::testing::alloc_counting = true;
  for (int i = 0; i < 100; ++i) {
    const GateResult g = gate(q);
    if (g.action != GateAction::Accept) break;
    const Message& m = *g.message;
    if (!is_subdomain(m.packet(), m.question()->name, canary)) break;
    for (const EdnsOption& o : m.edns_options()) checked += o.code;
    for (const Record& rr : m.records(Section::Additional)) checked += rr.type;
    if (!build_nxdomain(m, &soa, Transport::Udp, out)) break;
    ++checked;
  }
  dnsfence::testing::alloc_counting = false;
  EXPECT_EQ(dnsfence::testing::allocations.load(), 0);
  EXPECT_EQ(checked, 100 * (1 + rrtype::OPT));
}

TEST(NoAllocation, TheCounterWorks) {
  dnsfence::testing::allocations = 0;
  dnsfence::testing::alloc_counting = true;
  auto* p = new int(3);
  dnsfence::testing::alloc_counting = false;
  delete p;
  EXPECT_EQ(dnsfence::testing::allocations.load(), 1);
}

}  // namespace
}  // namespace dnsfence::dns
