#pragma once
// The in-band evidence of a TXT answer: what the witness saw of the query, as character-strings a
// client reads from the answer itself ("resolver=198.51.100.2", "transport=udp", "ecs=10.1.2.0/24").

#include <cstdint>
#include <span>

#include "common/net.hpp"
#include "dns/message.hpp"
#include "dns/response.hpp"
#include "witness/token.hpp"

namespace dnsfence::witness {

/// Who sent a query and how.
struct Peer {
  common::SocketAddress endpoint;
  dns::Transport transport = dns::Transport::Udp;
};

/// Writes `address` in presentation form into `out` (NUL-terminated); false if it does not fit.
bool format_address(const common::IpAddress& address, std::span<char> out) noexcept;

/// Writes the TXT RDATA for `query` from `peer` under `token` into `out`: resolver, port,
/// transport, EDNS payload size (or "none"), DO bit, ECS subnet (or "none"), run id, probe number.
/// Returns the RDATA length, 0 if `out` is too small. Allocates nothing.
std::size_t write_evidence(const dns::Message& query, const Peer& peer, const Token& token,
                           std::span<std::uint8_t> out) noexcept;

}  // namespace dnsfence::witness
