#pragma once
// Who asked, by role: the operator declares its own resolvers (`[[witness.resolvers]]`: a name and
// the prefixes they use, both where devices send lookups and where the resolvers reach the
// authority from). A resolver address seen at the authority, or a destination a VPN server
// reported, inside one of them is "the VPN's"; any other is not, and the page calls it a leak.

#include <span>
#include <string>
#include <vector>

#include "common/net.hpp"

namespace dnsfence::witness {

struct ResolverRole {
  std::string name;                      // "Example VPN", shown to users
  std::vector<common::Prefix> prefixes;  // e.g. the VPN's NAT egress 192.0.2.2/32, its resolvers 10.64.0.0/24
};

/// The declared role whose prefixes contain `address` (the longest match), or nullptr: not the
/// VPN's.
const ResolverRole* role_of(std::span<const ResolverRole> roles, const common::IpAddress& address) noexcept;

}  // namespace dnsfence::witness
