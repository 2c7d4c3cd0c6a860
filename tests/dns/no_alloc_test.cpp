// Proves the parse path, the gate and the builders allocate nothing: the global operator new is
// replaced by one that counts while a flag is set.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>

#include "dns/gate.hpp"
#include "dns/response.hpp"
#include "dns/testing_packets.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<int> g_allocations{0};
}  // namespace

// GCC 12 sees malloc/free through the inlined replacement and warns falsely.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace dnsfence::dns {
namespace {

TEST(NoAllocation, ParseGateAndBuildAllocateNothing) {
  auto q = testing::query("a.b.use-application-dns.net", rrtype::HTTPS, 1232, true);
  const Name canary = Name::from_text("use-application-dns.net").value();
  Soa soa;
  soa.zone = canary;
  std::array<std::uint8_t, 512> out{};
  int checked = 0;

  g_allocations = 0;
  g_counting = true;
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
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(checked, 100 * (1 + rrtype::OPT));
}

TEST(NoAllocation, TheCounterWorks) {
  g_allocations = 0;
  g_counting = true;
  auto* p = new int(3);
  g_counting = false;
  delete p;
  EXPECT_EQ(g_allocations.load(), 1);
}

}  // namespace
}  // namespace dnsfence::dns
