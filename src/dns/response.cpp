#include "dns/response.hpp"

#include <algorithm>

namespace dnsfence::dns {
namespace {

constexpr std::uint16_t kOptRecordSize = 11;  // root owner, type, class, ttl, rdlength

std::uint16_t reply_flags(const Header& query) noexcept {
  return static_cast<std::uint16_t>(flag::QR | flag::RA | (query.flags & (flag::OpcodeMask | flag::RD | flag::CD)));
}

std::uint8_t lower(std::uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

bool same_wire(Bytes a, Bytes b) noexcept {
  return std::ranges::equal(a, b, [](std::uint8_t x, std::uint8_t y) { return lower(x) == lower(y); });
}

}  // namespace

ResponseBuilder::ResponseBuilder(const Message& query, std::span<std::uint8_t> out, Transport transport) noexcept
    : query_(query), w_(out), transport_(transport), flags_(reply_flags(query.header())) {
  if (!query.question()) {
    error_ = BuildError::NoQuestion;
    return;
  }
  Header h;  // counts are patched by finish()
  write_header(w_, h);
  const Bytes packet = query.packet();
  w_.bytes(packet.subspan(kHeaderSize, query.question_end() - kHeaderSize));
  question_end_ = w_.size();
  if (!w_.ok()) {
    error_ = BuildError::BufferTooSmall;
    return;
  }
  // The query's qname is its first name, so it is never compressed: label offsets are direct.
  const Bytes written = w_.written();
  for (std::size_t at = kHeaderSize; written[at] != 0 && qlabels_ < qlabel_at_.size(); at += 1 + written[at])
    qlabel_at_[qlabels_++] = static_cast<std::uint16_t>(at);
}

void ResponseBuilder::set_flag(std::uint16_t f, bool on) noexcept {
  flags_ = on ? static_cast<std::uint16_t>(flags_ | f) : static_cast<std::uint16_t>(flags_ & ~f);
}

bool ResponseBuilder::begin_record(Section s) noexcept {
  const int index = static_cast<int>(s);
  if (error_) return false;
  if (index < section_) {
    error_ = BuildError::OutOfOrder;
    return false;
  }
  section_ = index;
  return true;
}

void ResponseBuilder::write_name(const Name& name) noexcept {
  // Find the longest suffix of `name` that is also a suffix of the qname and point to it.
  const Bytes wire = name.wire();
  std::size_t at = 0;
  for (std::size_t i = 0; i < name.labels(); ++i, at += 1 + wire[at]) {
    const std::size_t suffix_labels = name.labels() - i;
    if (suffix_labels > qlabels_) continue;
    const std::size_t q = qlabel_at_[qlabels_ - suffix_labels];
    const Bytes qsuffix = w_.written().subspan(q, question_end_ - 4 - q);
    if (same_wire(wire.subspan(at), qsuffix)) {
      w_.bytes(wire.first(at));
      w_.u16(static_cast<std::uint16_t>(0xc000 | q));
      return;
    }
  }
  w_.bytes(wire);
}

void ResponseBuilder::end_record(Section s, std::size_t rdlength_at) noexcept {
  w_.patch_u16(rdlength_at, static_cast<std::uint16_t>(w_.size() - rdlength_at - 2));
  ++counts_[static_cast<std::size_t>(s)];
}

void ResponseBuilder::add_at_qname(Section s, std::uint16_t type, std::uint32_t ttl, Bytes rdata) noexcept {
  if (!begin_record(s)) return;
  w_.u16(static_cast<std::uint16_t>(0xc000 | kHeaderSize));
  write_rest(s, type, ttl, rdata);
}

void ResponseBuilder::add(Section s, const Name& owner, std::uint16_t type, std::uint32_t ttl, Bytes rdata) noexcept {
  if (!begin_record(s)) return;
  write_name(owner);
  write_rest(s, type, ttl, rdata);
}

void ResponseBuilder::write_rest(Section s, std::uint16_t type, std::uint32_t ttl, Bytes rdata) noexcept {
  w_.u16(type);
  w_.u16(query_.question()->qclass);
  w_.u32(ttl);
  w_.u16(static_cast<std::uint16_t>(rdata.size()));
  w_.bytes(rdata);
  ++counts_[static_cast<std::size_t>(s)];
}

void ResponseBuilder::add_soa(Section s, const Soa& soa) noexcept {
  if (!begin_record(s)) return;
  write_name(soa.zone);
  w_.u16(rrtype::SOA);
  w_.u16(rrclass::IN);
  w_.u32(soa.ttl);
  const std::size_t rdlength_at = w_.size();
  w_.u16(0);
  write_name(soa.mname);
  write_name(soa.rname);
  for (std::uint32_t v : {soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum}) w_.u32(v);
  end_record(s, rdlength_at);
}

std::expected<std::size_t, BuildError> ResponseBuilder::finish() noexcept {
  if (error_) return std::unexpected(*error_);
  const auto& edns = query_.edns();
  std::size_t limit = 65535;
  if (transport_ == Transport::Udp) limit = edns ? std::max<std::size_t>(kMinUdpSize, edns->udp_size) : kMinUdpSize;
  const std::size_t opt_size = edns ? kOptRecordSize : 0;
  if (!w_.ok() || w_.size() + opt_size > limit) {
    // Too big for the client (or our buffer): keep the question, drop every record, set TC.
    w_.rewind(question_end_);
    counts_ = {};
    flags_ |= flag::TC;
  }
  const auto rcode = static_cast<std::uint16_t>(rcode_);
  if (edns) write_opt(w_, kDefaultEdnsSize, static_cast<std::uint8_t>(rcode >> 4), 0, edns->do_bit);
  if (!w_.ok()) return std::unexpected(BuildError::BufferTooSmall);
  const std::uint16_t header[6] = {
      query_.header().id, static_cast<std::uint16_t>(flags_ | (rcode & 0x0f)),    1, counts_[0],
      counts_[1],         static_cast<std::uint16_t>(counts_[2] + (edns ? 1 : 0))};
  for (std::size_t i = 0; i < 6; ++i) w_.patch_u16(2 * i, header[i]);
  return w_.size();
}

void write_opt(Writer& w, std::uint16_t udp_size, std::uint8_t extended_rcode, std::uint8_t version,
               bool do_bit) noexcept {
  w.u8(0);  // root owner
  w.u16(rrtype::OPT);
  w.u16(udp_size);
  w.u32((static_cast<std::uint32_t>(extended_rcode) << 24) | (static_cast<std::uint32_t>(version) << 16) |
        (do_bit ? 0x8000U : 0U));
  w.u16(0);  // no options
}

std::size_t truncate_for_udp(std::span<std::uint8_t> answer, std::size_t limit, bool keep_opt) noexcept {
  const auto m = parse(answer);
  if (!m || !m->question()) return 0;
  if (answer.size() <= limit) return answer.size();
  const std::optional<Edns> edns = keep_opt ? m->edns() : std::nullopt;
  const std::size_t at = m->question_end();
  Writer header(answer.first(kHeaderSize));
  write_header(header, {m->header().id, static_cast<std::uint16_t>(m->header().flags | flag::TC), 1, 0, 0,
                        static_cast<std::uint16_t>(edns ? 1 : 0)});
  Writer w(answer.subspan(at));
  if (edns) write_opt(w, edns->udp_size, edns->extended_rcode, edns->version, edns->do_bit);
  return w.ok() ? at + w.size() : 0;
}

std::expected<std::size_t, BuildError> build_response(const Message& query, Rcode rcode, const Soa* soa,
                                                      Transport transport, std::span<std::uint8_t> out) noexcept {
  ResponseBuilder b(query, out, transport);
  b.set_rcode(rcode);
  if (soa != nullptr) b.add_soa(Section::Authority, *soa);
  return b.finish();
}

std::expected<std::size_t, BuildError> build_header_only(const Header& query, Rcode rcode,
                                                         std::span<std::uint8_t> out) noexcept {
  Writer w(out);
  const auto flags = static_cast<std::uint16_t>(reply_flags(query) | (static_cast<std::uint16_t>(rcode) & 0x0f));
  write_header(w, Header{query.id, flags, 0, 0, 0, 0});
  if (!w.ok()) return std::unexpected(BuildError::BufferTooSmall);
  return w.size();
}

std::expected<std::size_t, BuildError> build_gate_reply(const GateResult& g, Transport transport,
                                                        std::span<std::uint8_t> out) noexcept {
  Rcode rcode = Rcode::NoError;
  switch (g.action) {
    case GateAction::Accept:
    case GateAction::Drop:
      return 0;
    case GateAction::FormErr:
      rcode = Rcode::FormErr;
      break;
    case GateAction::NotImp:
      rcode = Rcode::NotImp;
      break;
    case GateAction::BadVers:
      rcode = Rcode::BadVers;
      break;
  }
  if (g.message && g.message->question()) return build_response(*g.message, rcode, nullptr, transport, out);
  return build_header_only(g.header, rcode, out);
}

}  // namespace dnsfence::dns
