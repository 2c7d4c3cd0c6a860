#include "dns/message.hpp"

namespace dnsfence::dns {
namespace {

// Reads one record's fixed part after its owner; the reader must be positioned at the owner.
std::expected<Record, ParseError> read_record(Reader& r) noexcept {
  Record rr;
  auto owner = read_name(r);
  if (!owner) return std::unexpected(owner.error());
  rr.owner = *owner;
  rr.type = r.u16();
  rr.rclass = r.u16();
  rr.ttl = r.u32();
  rr.rdata_length = r.u16();
  rr.rdata_offset = static_cast<std::uint16_t>(r.position());
  r.skip(rr.rdata_length);
  if (!r.ok()) return std::unexpected(ParseError::Truncated);
  return rr;
}

bool options_well_formed(Bytes rdata) noexcept {
  Reader r(rdata);
  while (r.ok() && r.remaining() > 0) {
    r.u16();
    r.skip(r.u16());
  }
  return r.ok();
}

std::expected<Edns, ParseError> read_opt(const Record& rr) noexcept {
  if (rr.owner.labels != 0) return std::unexpected(ParseError::BadOpt);
  Edns e;
  e.udp_size = rr.rclass;
  e.extended_rcode = static_cast<std::uint8_t>(rr.ttl >> 24);
  e.version = static_cast<std::uint8_t>(rr.ttl >> 16);
  e.do_bit = (rr.ttl & 0x8000U) != 0;
  e.rdata_offset = rr.rdata_offset;
  e.rdata_length = rr.rdata_length;
  return e;
}

}  // namespace

void EdnsOptions::iterator::load() noexcept {
  Reader r(rest_);
  current_.code = r.u16();
  const std::uint16_t len = r.u16();
  current_.data = r.bytes(len);
  if (!r.ok()) rest_ = rest_.last(0);  // validated at parse time; stop safely on anything else
}

Message::RecordIterator::RecordIterator(Bytes packet, std::size_t pos, std::uint16_t left) noexcept
    : packet_(packet), pos_(pos), left_(left) {
  load();
}

Message::RecordIterator& Message::RecordIterator::operator++() noexcept {
  if (left_ > 0) --left_;
  load();
  return *this;
}

void Message::RecordIterator::load() noexcept {
  if (left_ == 0) return;
  Reader r(packet_, pos_);
  auto rr = read_record(r);
  if (!rr) {
    left_ = 0;  // cannot happen on a parsed message; end the range rather than loop
    return;
  }
  current_ = *rr;
  pos_ = r.position();
}

Message::Records Message::records(Section s) const noexcept {
  const auto i = static_cast<std::size_t>(s);
  const std::uint16_t counts[3] = {header_.ancount, header_.nscount, header_.arcount};
  return {packet_, section_start_[i], counts[i]};
}

EdnsOptions Message::edns_options() const noexcept {
  if (!edns_) return EdnsOptions(Bytes{});
  return EdnsOptions(packet_.subspan(edns_->rdata_offset, edns_->rdata_length));
}

std::expected<Message, ParseError> parse(Bytes packet) noexcept {
  if (packet.size() > 65535) return std::unexpected(ParseError::TooLarge);
  Message m;
  m.packet_ = packet;
  Reader r(packet);
  m.header_ = read_header(r);
  if (!r.ok()) return std::unexpected(ParseError::Truncated);
  if (m.header_.qdcount > 1) return std::unexpected(ParseError::QuestionCount);
  if (m.header_.qdcount == 1) {
    auto name = read_name(r);
    if (!name) return std::unexpected(name.error());
    Question q{*name, r.u16(), r.u16()};
    if (!r.ok()) return std::unexpected(ParseError::Truncated);
    m.question_ = q;
  }
  const std::uint16_t counts[3] = {m.header_.ancount, m.header_.nscount, m.header_.arcount};
  for (std::size_t s = 0; s < 3; ++s) {
    m.section_start_[s] = static_cast<std::uint16_t>(r.position());
    for (std::uint16_t i = 0; i < counts[s]; ++i) {
      auto rr = read_record(r);
      if (!rr) return std::unexpected(rr.error());
      if (rr->type != rrtype::OPT) continue;
      if (s != 2 || m.edns_) return std::unexpected(ParseError::BadOpt);
      auto edns = read_opt(*rr);
      if (!edns || !options_well_formed(rdata(packet, *rr))) return std::unexpected(ParseError::BadOpt);
      m.edns_ = *edns;
    }
  }
  m.section_start_[3] = static_cast<std::uint16_t>(r.position());
  if (r.remaining() != 0) return std::unexpected(ParseError::TrailingData);
  return m;
}

}  // namespace dnsfence::dns
