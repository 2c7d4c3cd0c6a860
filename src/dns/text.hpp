#pragma once
// Presentation of messages for people: dig-like text. Control plane only (allocates).

#include <string>

#include "dns/message.hpp"

namespace dnsfence::dns {

/// The mnemonic of a type ("AAAA"), or "TYPE<n>" (RFC 3597).
std::string type_name(std::uint16_t type);
/// The mnemonic of a class ("IN"), or "CLASS<n>".
std::string class_name(std::uint16_t rclass);
/// A record in zone-file form; A, AAAA, names, SOA, MX and TXT decoded, others as RFC 3597 hex.
std::string record_text(Bytes packet, const Record& rr);
/// The whole message in dig's layout: header line, flags, OPT pseudo-section, sections.
std::string message_text(const Message& m);

}  // namespace dnsfence::dns
