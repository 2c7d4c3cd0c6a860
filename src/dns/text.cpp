#include "dns/text.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdio>

#include "dns/types.hpp"

namespace dnsfence::dns {
namespace {

struct Mnemonic {
  std::uint16_t value;
  std::string_view name;
};

constexpr std::array kTypes = {
    Mnemonic{rrtype::A, "A"},           Mnemonic{rrtype::NS, "NS"},     Mnemonic{rrtype::CNAME, "CNAME"},
    Mnemonic{rrtype::SOA, "SOA"},       Mnemonic{rrtype::PTR, "PTR"},   Mnemonic{rrtype::MX, "MX"},
    Mnemonic{rrtype::TXT, "TXT"},       Mnemonic{rrtype::AAAA, "AAAA"}, Mnemonic{rrtype::SRV, "SRV"},
    Mnemonic{rrtype::OPT, "OPT"},       Mnemonic{rrtype::DS, "DS"},     Mnemonic{rrtype::RRSIG, "RRSIG"},
    Mnemonic{rrtype::DNSKEY, "DNSKEY"}, Mnemonic{rrtype::SVCB, "SVCB"}, Mnemonic{rrtype::HTTPS, "HTTPS"},
    Mnemonic{rrtype::AXFR, "AXFR"},     Mnemonic{rrtype::ANY, "ANY"},
};

constexpr std::array kRcodes = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};

std::string hex(Bytes b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (std::uint8_t c : b) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string num(std::uint32_t v) {
  return std::to_string(v);
}

std::string address_text(int family, Bytes b) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, b.data(), buf, sizeof buf);
  return buf;
}

std::string txt_text(Bytes rdata) {
  std::string out;
  Reader r(rdata);
  while (r.ok() && r.remaining() > 0) {
    Bytes s = r.bytes(r.u8());
    if (!out.empty()) out += ' ';
    out += '"';
    for (std::uint8_t c : s) {
      if (c == '"' || c == '\\') out += '\\';
      if (c >= 0x20 && c < 0x7f)
        out += static_cast<char>(c);
      else {
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\%03u", static_cast<unsigned>(c));
        out += esc;
      }
    }
    out += '"';
  }
  return out;
}

// Decodes the RDATA types whose layout we know; nullopt for the rest (printed as RFC 3597 hex).
std::optional<std::string> known_rdata_text(Bytes packet, const Record& rr) {
  const Bytes rd = rdata(packet, rr);
  Reader r(packet, rr.rdata_offset);
  auto name_at = [&]() -> std::optional<std::string> {
    auto n = read_name(r);
    if (!n) return std::nullopt;
    return to_text(packet, *n);
  };
  switch (rr.type) {
    case rrtype::A:
      if (rd.size() == 4) return address_text(AF_INET, rd);
      break;
    case rrtype::AAAA:
      if (rd.size() == 16) return address_text(AF_INET6, rd);
      break;
    case rrtype::NS:
    case rrtype::CNAME:
    case rrtype::PTR:
      return name_at();
    case rrtype::MX: {
      const std::uint16_t pref = r.u16();
      auto target = name_at();
      if (target) return num(pref) + " " + *target;
      break;
    }
    case rrtype::SOA: {
      auto mname = name_at();
      auto rname = name_at();
      std::string nums;
      for (int i = 0; i < 5; ++i) {
        // Appended in two steps: `" " + num(...)` makes g++ 12 at -O3 report a false -Wrestrict
        // (GCC bug 105329) inside std::string's insert.
        nums += ' ';
        nums += num(r.u32());
      }
      if (mname && rname && r.ok()) return *mname + " " + *rname + nums;
      break;
    }
    case rrtype::TXT:
      return txt_text(rd);
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace

std::string_view describe(ParseError e) noexcept {
  switch (e) {
    case ParseError::Truncated:
      return "truncated: a field runs past the end of the packet";
    case ParseError::BadLabelType:
      return "bad label type";
    case ParseError::BadPointer:
      return "compression pointer loops, points forward or into the header";
    case ParseError::NameTooLong:
      return "name longer than 255 octets";
    case ParseError::TooManyLabels:
      return "name with more than 127 labels";
    case ParseError::QuestionCount:
      return "more than one question";
    case ParseError::BadOpt:
      return "malformed or misplaced OPT record";
    case ParseError::TrailingData:
      return "trailing data after the last record";
    case ParseError::TooLarge:
      return "longer than 65535 octets";
  }
  return "unknown parse error";
}

std::string_view rcode_name(std::uint16_t rcode) noexcept {
  if (rcode < kRcodes.size()) return kRcodes[rcode];
  if (rcode == static_cast<std::uint16_t>(Rcode::BadVers)) return "BADVERS";
  return "RCODE?";
}

std::string type_name(std::uint16_t type) {
  for (const auto& m : kTypes)
    if (m.value == type) return std::string(m.name);
  return "TYPE" + num(type);
}

std::string class_name(std::uint16_t rclass) {
  if (rclass == rrclass::IN) return "IN";
  if (rclass == rrclass::CH) return "CH";
  if (rclass == rrclass::ANY) return "ANY";
  return "CLASS" + num(rclass);
}

std::string record_text(Bytes packet, const Record& rr) {
  auto data = known_rdata_text(packet, rr);
  if (!data) data = "\\# " + num(rr.rdata_length) + " " + hex(rdata(packet, rr));
  return to_text(packet, rr.owner) + "\t" + num(rr.ttl) + "\t" + class_name(rr.rclass) + "\t" + type_name(rr.type) +
         "\t" + *data;
}

std::string message_text(const Message& m) {
  const Header& h = m.header();
  std::string out = ";; ->>HEADER<<- opcode: " + num(h.opcode()) + "; status: " + std::string(rcode_name(m.rcode())) +
                    "; id: " + num(h.id) + "\n;; flags:";
  const std::pair<std::uint16_t, const char*> flags[] = {{flag::QR, "qr"}, {flag::AA, "aa"}, {flag::TC, "tc"},
                                                         {flag::RD, "rd"}, {flag::RA, "ra"}, {flag::AD, "ad"},
                                                         {flag::CD, "cd"}};
  for (auto [bit, name] : flags)
    if (h.has(bit)) out += std::string(" ") + name;
  out += "; QUERY: " + num(h.qdcount) + ", ANSWER: " + num(h.ancount) + ", AUTHORITY: " + num(h.nscount) +
         ", ADDITIONAL: " + num(h.arcount) + "\n";
  if (const auto& e = m.edns()) {
    out += ";; EDNS: version: " + num(e->version) + ", flags:" + (e->do_bit ? " do" : "") +
           "; udp: " + num(e->udp_size) + "\n";
    for (const EdnsOption& o : m.edns_options()) out += ";; OPTION " + num(o.code) + ": " + hex(o.data) + "\n";
  }
  if (const auto& q = m.question())
    out += ";; QUESTION SECTION:\n;" + to_text(m.packet(), q->name) + "\t" + class_name(q->qclass) + "\t" +
           type_name(q->qtype) + "\n";
  const char* titles[] = {"ANSWER", "AUTHORITY", "ADDITIONAL"};
  for (int s = 0; s < 3; ++s) {
    std::string lines;
    for (const Record& rr : m.records(static_cast<Section>(s)))
      if (rr.type != rrtype::OPT) lines += record_text(m.packet(), rr) + "\n";
    if (!lines.empty()) out += std::string(";; ") + titles[s] + " SECTION:\n" + lines;
  }
  return out;
}

}  // namespace dnsfence::dns
