#pragma once
// Response builders every component uses: the proxy's local answers, the witness's authoritative
// answers, error replies. They write into a caller-provided buffer and never allocate.

#include <array>
#include <cstdint>
#include <expected>
#include <span>

#include "dns/gate.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"

namespace dnsfence::dns {

/// The transport a reply leaves on: over UDP it must fit the client's limit or be truncated.
enum class Transport : std::uint8_t { Udp, Tcp };

enum class BuildError : std::uint8_t {
  BufferTooSmall,  // not even the header and question fit the output buffer
  NoQuestion,      // the query has no question to answer
  OutOfOrder,      // a record was added to a section before one already written
};

/// The SOA of a negative answer (RFC 2308): its TTL should be the zone's negative TTL.
struct Soa {
  Name zone;
  Name mname;
  Name rname;
  std::uint32_t serial = 1;
  std::uint32_t refresh = 3600;
  std::uint32_t retry = 600;
  std::uint32_t expire = 86400;
  std::uint32_t minimum = 60;
  std::uint32_t ttl = 60;
};

/// Writes a response to a parsed query, section by section. The header keeps the query's ID,
/// opcode, RD and CD bits and sets QR and RA; the question is copied verbatim. Owner names and
/// SOA names are compressed against the question name. finish() echoes an OPT record (our payload
/// size, the query's DO bit) when the query had EDNS, and, over UDP, when the reply exceeds the
/// client's limit (512 octets, or its EDNS size), drops every record and sets TC (RFC 2181 9).
class ResponseBuilder {
 public:
  ResponseBuilder(const Message& query, std::span<std::uint8_t> out, Transport transport) noexcept;

  void set_rcode(Rcode rcode) noexcept { rcode_ = rcode; }
  void set_flag(std::uint16_t f, bool on) noexcept;
  /// Adds a record owned by the question name.
  void add_at_qname(Section s, std::uint16_t type, std::uint32_t ttl, Bytes rdata) noexcept;
  /// Adds a record with an explicit owner.
  void add(Section s, const Name& owner, std::uint16_t type, std::uint32_t ttl, Bytes rdata) noexcept;
  /// Adds an SOA record (class IN) owned by soa.zone.
  void add_soa(Section s, const Soa& soa) noexcept;
  /// Completes the reply; returns its size in octets.
  std::expected<std::size_t, BuildError> finish() noexcept;

 private:
  bool begin_record(Section s) noexcept;
  void write_name(const Name& name) noexcept;
  void end_record(Section s, std::size_t rdlength_at) noexcept;
  void write_rest(Section s, std::uint16_t type, std::uint32_t ttl, Bytes rdata) noexcept;

  const Message& query_;
  Writer w_;
  Transport transport_;
  Rcode rcode_ = Rcode::NoError;
  std::uint16_t flags_;
  std::array<std::uint16_t, 3> counts_{};
  int section_ = 0;
  std::size_t question_end_ = 0;
  std::array<std::uint16_t, kMaxLabels + 1> qlabel_at_{};  // output offsets of the qname's labels
  std::size_t qlabels_ = 0;
  std::optional<BuildError> error_;
};

/// A reply with `rcode`, no answer, and, with `soa`, that SOA in the authority section.
std::expected<std::size_t, BuildError> build_response(const Message& query, Rcode rcode, const Soa* soa,
                                                      Transport transport, std::span<std::uint8_t> out) noexcept;

/// NXDOMAIN (RFC 8020: nothing exists at or below the name), optionally with an SOA.
inline std::expected<std::size_t, BuildError> build_nxdomain(const Message& q, const Soa* soa, Transport t,
                                                             std::span<std::uint8_t> out) noexcept {
  return build_response(q, Rcode::NxDomain, soa, t, out);
}
/// NODATA: NOERROR with an empty answer, optionally with an SOA.
inline std::expected<std::size_t, BuildError> build_nodata(const Message& q, const Soa* soa, Transport t,
                                                           std::span<std::uint8_t> out) noexcept {
  return build_response(q, Rcode::NoError, soa, t, out);
}

/// Writes an OPT pseudo-record without options (RFC 6891 6.1.2).
void write_opt(Writer& w, std::uint16_t udp_size, std::uint8_t extended_rcode, std::uint8_t version,
               bool do_bit) noexcept;

/// Fits a complete answer (from anywhere: an upstream's, over TCP) to a UDP client's `limit`
/// (RFC 2181 9): unchanged when it fits; otherwise cut in place to header and question with TC
/// set and no record, keeping its OPT record (extended RCODE, version, DO) when `keep_opt`.
/// Returns the size to send; 0 when the answer does not parse or has no question.
std::size_t truncate_for_udp(std::span<std::uint8_t> answer, std::size_t limit, bool keep_opt) noexcept;

/// A header-only reply (QDCOUNT 0) for a query whose question could not be used: keeps ID,
/// opcode, RD and CD; sets QR, RA and `rcode`. Fails only if `out` is shorter than a header.
std::expected<std::size_t, BuildError> build_header_only(const Header& query, Rcode rcode,
                                                         std::span<std::uint8_t> out) noexcept;

/// The reply the gate calls for: FORMERR, NOTIMP or BADVERS, with the question and OPT when the
/// query parsed, header-only otherwise. Returns 0 for Accept and Drop (nothing to send).
std::expected<std::size_t, BuildError> build_gate_reply(const GateResult& g, Transport transport,
                                                        std::span<std::uint8_t> out) noexcept;

}  // namespace dnsfence::dns
