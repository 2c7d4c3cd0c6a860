#pragma once
// Test support for "no allocation" proofs: replaces the global operator new with one that counts
// while `alloc_counting` is set. Include it in exactly one file of a test binary of its own.

#include <atomic>
#include <cstdlib>
#include <new>

namespace dnsfence::testing {
inline std::atomic<bool> alloc_counting{false};
inline std::atomic<int> allocations{0};
}  // namespace dnsfence::testing

// GCC 12 sees malloc/free through the inlined replacement and warns falsely.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (dnsfence::testing::alloc_counting.load(std::memory_order_relaxed))
    dnsfence::testing::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
