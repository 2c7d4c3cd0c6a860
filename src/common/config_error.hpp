#pragma once
// The error every configuration reader throws (common/config.hpp, witness/config.hpp).

#include <stdexcept>

namespace dnsfence::common {

/// A refused configuration; what() is "FILE:LINE:COL: reason" (or "FILE: reason").
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace dnsfence::common
