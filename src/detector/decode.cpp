// decode_frame (declared in capture.hpp): link, network and transport headers by hand (they are
// fixed layouts), the DNS payload with the codec.
#include <pcap/dlt.h>

#include <cstring>

#include "detector/capture.hpp"
#include "detector/classify.hpp"
#include "dns/message.hpp"
#include "dns/text.hpp"

namespace dnsfence::detector {
namespace {

constexpr std::uint16_t kEtherIpv4 = 0x0800;
constexpr std::uint16_t kEtherIpv6 = 0x86dd;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;

struct Link {
  std::uint16_t ethertype = 0;
  int ifindex = 0;
  std::size_t offset = 0;
};

std::optional<Link> link_header(int dlt, dns::Reader& r) {
  Link l;
  if (dlt == DLT_LINUX_SLL2) {
    l.ethertype = r.u16();
    r.skip(2);
    l.ifindex = static_cast<int>(r.u32());
    r.skip(12);
  } else if (dlt == DLT_LINUX_SLL) {
    r.skip(14);
    l.ethertype = r.u16();
  } else if (dlt == DLT_EN10MB) {
    r.skip(12);
    l.ethertype = r.u16();
  } else if (dlt == DLT_RAW) {
    const auto b = r.data();
    l.ethertype = !b.empty() && (b[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4;
  } else {
    return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return l;
}

IpAddress v4(dns::Bytes b) {
  in_addr a{};
  if (b.size() == 4) std::memcpy(&a, b.data(), 4);
  return IpAddress::from_v4(a);
}

IpAddress v6(dns::Bytes b) {
  in6_addr a{};
  if (b.size() == 16) std::memcpy(&a, b.data(), 16);
  return IpAddress::from_v6(a);
}

// Reads the IP header; sets the addresses and returns the transport protocol (0: not wanted).
std::uint8_t ip_header(std::uint16_t ethertype, dns::Reader& r, IpAddress& src, IpAddress& dst) {
  if (ethertype == kEtherIpv4) {
    const std::size_t start = r.position();
    const std::uint8_t ihl = r.u8() & 0x0f;
    r.skip(5);
    const std::uint16_t frag = r.u16();
    r.skip(1);
    const std::uint8_t proto = r.u8();
    r.skip(2);
    src = v4(r.bytes(4));
    dst = v4(r.bytes(4));
    r.seek(start + std::size_t{ihl} * 4);
    return (frag & 0x1fff) == 0 && r.ok() ? proto : 0;  // later fragments carry no ports
  }
  if (ethertype == kEtherIpv6) {
    r.skip(6);
    const std::uint8_t next = r.u8();
    r.skip(1);
    src = v6(r.bytes(16));
    dst = v6(r.bytes(16));
    return r.ok() ? next : 0;
  }
  return 0;
}

// RFC 9000 16: a variable-length integer (1, 2, 4 or 8 bytes, length in the top two bits).
std::uint64_t quic_varint(dns::Reader& r) {
  const std::uint8_t first = r.u8();
  std::uint64_t v = first & 0x3f;
  const std::size_t more = (std::size_t{1} << (first >> 6)) - 1;
  for (std::size_t i = 0; i < more; ++i) v = (v << 8) | r.u8();
  return v;
}

// Is this UDP payload a QUIC Initial packet (RFC 9000 17.2.2, RFC 9369 for v2)? The long header
// is in the clear even though everything after it is encrypted: form bit, a known version, the
// version's Initial type, connection ids of at most 20 bytes, and a token and length that fit.
// A client's Initial datagram is padded to at least 1200 bytes (RFC 9000 14.1).
bool quic_initial(dns::Bytes payload, bool from_client) {
  constexpr std::uint32_t kV1 = 1;
  constexpr std::uint32_t kV2 = 0x6b3343cf;
  constexpr std::size_t kMinClientDatagram = 1200;
  if (from_client && payload.size() < kMinClientDatagram) return false;
  dns::Reader r(payload);
  const std::uint8_t first = r.u8();
  const std::uint32_t version = r.u32();
  if ((first & 0x80) == 0 || !r.ok()) return false;
  const unsigned type = (first >> 4) & 3U;
  const bool draft = (version & 0xffffff00U) == 0xff000000U;  // draft-ietf-quic-transport-NN
  if (!((version == kV1 || draft) && type == 0) && !(version == kV2 && type == 1)) return false;
  const std::uint8_t dcid = r.u8();
  r.skip(dcid);
  const std::uint8_t scid = r.u8();
  r.skip(scid);
  if (dcid > 20 || scid > 20) return false;
  const std::uint64_t token = quic_varint(r);
  if (!r.ok() || token > r.remaining()) return false;
  r.skip(static_cast<std::size_t>(token));
  const std::uint64_t length = quic_varint(r);
  return r.ok() && length > 0 && length <= r.remaining();
}

void fill_dns(Observation& o, dns::Bytes payload) {
  auto m = dns::parse(payload);
  if (!m) return;
  o.id = m->header().id;
  o.is_response = m->header().has(dns::flag::QR);
  o.rcode = m->rcode();
  if (m->question()) {
    o.qname = normalize_name(dns::to_text(payload, m->question()->name));
    o.qtype = m->question()->qtype;
  }
  for (const auto& rr : m->records(dns::Section::Answer)) {
    const auto rd = dns::rdata(payload, rr);
    if (rr.type == dns::rrtype::A && rd.size() == 4) o.answers.push_back(v4(rd).to_string());
    if (rr.type == dns::rrtype::AAAA && rd.size() == 16) o.answers.push_back(v6(rd).to_string());
  }
}

}  // namespace

std::optional<Observation> decode_frame(int dlt, std::span<const std::uint8_t> frame, double time) {
  dns::Reader r(frame);
  const auto link = link_header(dlt, r);
  if (!link) return std::nullopt;
  IpAddress src;
  IpAddress dst;
  const std::uint8_t proto = ip_header(link->ethertype, r, src, dst);
  if (proto != kProtoUdp && proto != kProtoTcp) return std::nullopt;
  const std::size_t l4 = r.position();
  const std::uint16_t sport = r.u16();
  const std::uint16_t dport = r.u16();
  Observation o{time, link->ifindex, "", {src, sport}, {dst, dport}, Wire::Udp, false, "", 0, 0, 0, {}};
  std::size_t length = 0;
  if (proto == kProtoUdp) {
    length = r.u16();  // the UDP length bounds the payload: frames may carry padding
    length = length >= 8 ? length - 8 : 0;
    r.skip(2);
  } else {
    r.skip(8);
    const std::uint8_t offset = r.u8() >> 4;
    const std::uint8_t flags = r.u8();
    r.seek(l4 + std::size_t{offset} * 4);
    o.wire = Wire::Tcp;
    if (sport == 853 || dport == 853) {
      o.wire = Wire::Dot;
      o.is_response = sport == 853;
      const bool syn = (flags & 0x02) != 0;
      return r.ok() && syn ? std::optional(o) : std::nullopt;
    }
    length = r.u16();  // the TCP length prefix; a segment holding less than a message is skipped
  }
  const dns::Bytes payload = r.bytes(length);
  if (!r.ok() || length == 0) return std::nullopt;
  if (proto == kProtoUdp && (sport == 853 || dport == 853)) {
    o.wire = Wire::Doq;  // DNS over QUIC: only the Initial packet that opens a connection counts
    o.is_response = sport == 853;
    return quic_initial(payload, !o.is_response) ? std::optional(o) : std::nullopt;
  }
  if (sport != 53 && dport != 53) return std::nullopt;
  fill_dns(o, payload);
  if (o.qname.empty() && o.id == 0) return std::nullopt;
  return o;
}

}  // namespace dnsfence::detector
