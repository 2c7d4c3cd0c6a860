#pragma once
// The first check every received query goes through, after Unbound's worker_check_request: look
// at the header before parsing anything, then parse the whole packet once.

#include <cstdint>
#include <optional>

#include "dns/message.hpp"

namespace dnsfence::dns {

/// What to do with a received packet. Closed: every caller handles every value.
enum class GateAction : std::uint8_t {
  Accept,   // a well-formed query: message is set
  Drop,     // shorter than a header, or a response (QR set): never answer, never count as a query
  FormErr,  // QDCOUNT != 1, or the packet does not parse: answer FORMERR
  NotImp,   // an opcode other than QUERY: answer NOTIMP
  BadVers,  // EDNS version above 0: answer BADVERS (RFC 6891 6.1.3)
};

struct GateResult {
  GateAction action = GateAction::Drop;
  Header header;                    // the query's header, unless Drop
  std::optional<Message> message;   // the parsed query, when the whole packet parsed
  std::optional<ParseError> error;  // why it did not parse, for FormErr
};

/// Classifies a received query. Never allocates, never throws.
GateResult gate(Bytes packet) noexcept;

}  // namespace dnsfence::dns
