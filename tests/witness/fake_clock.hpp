#pragma once
// A clock tests move by hand.

#include "witness/store.hpp"

namespace dnsfence::witness::testing {

class FakeClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const noexcept override { return now_; }
  void advance(std::chrono::seconds s) { now_ += s; }

 private:
  TimePoint now_ = TimePoint(std::chrono::seconds(1'800'000'000));
};

}  // namespace dnsfence::witness::testing
