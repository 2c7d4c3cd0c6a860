#include "witness/roles.hpp"

namespace dnsfence::witness {

const ResolverRole* role_of(std::span<const ResolverRole> roles, const common::IpAddress& address) noexcept {
  const ResolverRole* best = nullptr;
  unsigned best_length = 0;
  for (const auto& role : roles) {
    for (const auto& p : role.prefixes) {
      if (p.contains(address) && (best == nullptr || p.length() > best_length)) {
        best = &role;
        best_length = p.length();
      }
    }
  }
  return best;
}

}  // namespace dnsfence::witness
