#pragma once
// Protocol constants and the codec's closed error enum.

#include <cstdint>
#include <string_view>

namespace dnsfence::dns {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameLength = 255;  // RFC 1035 3.1, in wire octets
inline constexpr std::size_t kMaxLabelLength = 63;
inline constexpr std::size_t kMaxLabels = 127;           // excluding the root label
inline constexpr std::uint16_t kMinUdpSize = 512;        // RFC 1035 4.2.1 / RFC 6891 6.2.5
inline constexpr std::uint16_t kDefaultEdnsSize = 1232;  // DNS flag day 2020

/// Response codes, including the extended BADVERS of RFC 6891.
enum class Rcode : std::uint16_t {
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NxDomain = 3,
  NotImp = 4,
  Refused = 5,
  BadVers = 16,
};

enum class Opcode : std::uint8_t { Query = 0, IQuery = 1, Status = 2, Notify = 4, Update = 5 };

namespace rrtype {
inline constexpr std::uint16_t A = 1;
inline constexpr std::uint16_t NS = 2;
inline constexpr std::uint16_t CNAME = 5;
inline constexpr std::uint16_t SOA = 6;
inline constexpr std::uint16_t PTR = 12;
inline constexpr std::uint16_t MX = 15;
inline constexpr std::uint16_t TXT = 16;
inline constexpr std::uint16_t AAAA = 28;
inline constexpr std::uint16_t SRV = 33;
inline constexpr std::uint16_t OPT = 41;
inline constexpr std::uint16_t DS = 43;
inline constexpr std::uint16_t RRSIG = 46;
inline constexpr std::uint16_t DNSKEY = 48;
inline constexpr std::uint16_t SVCB = 64;
inline constexpr std::uint16_t HTTPS = 65;
inline constexpr std::uint16_t AXFR = 252;
inline constexpr std::uint16_t ANY = 255;
}  // namespace rrtype

namespace rrclass {
inline constexpr std::uint16_t IN = 1;
inline constexpr std::uint16_t CH = 3;
inline constexpr std::uint16_t ANY = 255;
}  // namespace rrclass

namespace ednsopt {
inline constexpr std::uint16_t NSID = 3;
inline constexpr std::uint16_t ClientSubnet = 8;
inline constexpr std::uint16_t Cookie = 10;
inline constexpr std::uint16_t Padding = 12;
}  // namespace ednsopt

/// Why a packet could not be parsed. Every value maps onto FORMERR for a query.
enum class ParseError : std::uint8_t {
  Truncated,      // a count, length or field runs past the end of the packet
  BadLabelType,   // label type 0b01 or 0b10 (RFC 6891 deprecated them)
  BadPointer,     // compression pointer forward, into itself or into the header
  NameTooLong,    // more than 255 octets once decompressed
  TooManyLabels,  // more than 127 labels
  QuestionCount,  // more than one question
  BadOpt,         // OPT outside the additional section, not at the root, repeated, or bad options
  TrailingData,   // bytes left after the last record the counts announce
  TooLarge,       // longer than 65535 octets, the most any DNS transport carries
};

/// A short, stable, human-readable reason ("pointer loop or forward pointer").
std::string_view describe(ParseError e) noexcept;
/// The mnemonic of an RCODE ("NXDOMAIN").
std::string_view rcode_name(std::uint16_t rcode) noexcept;

}  // namespace dnsfence::dns
