// Differential test: libknot's packet parser (Knot DNS, kdig) is the oracle for parse().
//
// Corpus: every tests/data/*.hex fixture (real kdig and unbound captures), plus 20,000 seeded
// random messages that are valid by construction (tests/dns/random_packets.hpp) and two mutations
// of each (bit flips, truncation, counts, pointers, RDLENGTH, inserted or deleted octets).
//
// Rules:
//  * a valid message (fixture or generated) must be accepted by both;
//  * whenever both accept, they agree on the question (name compared as lowercase wire, type,
//    class), the section counts, each record's owner (decompressed), type, class and TTL, and
//    EDNS (presence, payload size, version, DO, option codes and lengths);
//  * when only one accepts, the divergence must be of a known kind; every kind is counted and
//    printed, and an unexplained one fails the test. The known kinds are where the parsers
//    deliberately differ (parse() is stricter on the header part, libknot on RDATA):
//      - "knot checks RDATA": libknot decodes the RDATA of types it knows (A must be 4 octets,
//        names in NS/CNAME/MX/SOA... must be valid) while parse() keeps RDATA opaque and checks
//        only RDLENGTH. Recognised by the record libknot stopped at: its owner is fine for
//        libknot and its type is one whose RDATA libknot decodes (a field-by-field descriptor,
//        or TXT, whose character-strings must fill the RDATA).
//      - "pointer into the header": parse() rejects compression pointers below offset 12, which
//        no compressor writes; libknot follows them when the octets there happen to form a name
//        (an ARCOUNT below 256 reads as the root).
//      - "pointer into its own run of labels": parse() requires every pointer to go before the run
//        of labels holding it (loops are then impossible); libknot only requires it to go before
//        the pointer itself and stops loops with the 255-octet limit, so it accepts a pointer into
//        the middle of the labels just read. No compressor writes that either.
//      - "OPT owner not the root": RFC 6891 6.1.2 says the OPT owner MUST be the root; libknot
//        does not check it.
//    The last three are recognised by walking the message with read_name to the first broken
//    name or OPT record and checking the exact rule.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <expected>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/hex.hpp"
#include "dns/message.hpp"
#include "dns/random_packets.hpp"

extern "C" {
#include <libknot/descriptor.h>
#include <libknot/dname.h>
#include <libknot/errcode.h>
#include <libknot/error.h>
#include <libknot/packet/pkt.h>
#include <libknot/packet/wire.h>
#include <libknot/rrtype/opt.h>
}

namespace dnsfence::dns {
namespace {

using Packet = std::vector<std::uint8_t>;

/// What a parser saw, reduced to facts both can state.
struct Facts {
  std::string qname;  // lowercase wire form, empty without a question
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  std::array<std::size_t, 4> counts{};                             // question, answer, authority, additional
  std::vector<std::uint16_t> types;                                // record types, in order, OPT included
  std::vector<std::string> owners;                                 // record owners, decompressed lowercase wire form
  std::vector<std::pair<std::uint16_t, std::uint32_t>> class_ttl;  // record class and TTL
  std::optional<std::uint16_t> payload;                            // EDNS payload size, absent without EDNS
  std::uint8_t version = 0;
  bool do_bit = false;
  std::vector<std::pair<std::uint16_t, std::size_t>> options;  // code, length
  bool operator==(const Facts&) const = default;
};

std::string lower_wire(const std::uint8_t* wire, std::size_t size) {
  std::string out(reinterpret_cast<const char*>(wire), size);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string show(const Facts& f) {
  std::ostringstream out;
  out << "qname=" << common::to_hex(Bytes(reinterpret_cast<const std::uint8_t*>(f.qname.data()), f.qname.size()), 0)
      << " qtype=" << f.qtype << " qclass=" << f.qclass << " counts=" << f.counts[0] << "," << f.counts[1] << ","
      << f.counts[2] << "," << f.counts[3] << " types=";
  for (std::size_t i = 0; i < f.types.size(); ++i)
    out << common::to_hex(Bytes(reinterpret_cast<const std::uint8_t*>(f.owners[i].data()), f.owners[i].size()), 0)
        << "/" << f.types[i] << "/" << f.class_ttl[i].first << "/" << f.class_ttl[i].second << " ";
  if (f.payload) out << "edns=" << *f.payload << " v" << int{f.version} << " do=" << f.do_bit << " opts=";
  for (auto [code, len] : f.options) out << code << "/" << len << " ";
  return out.str();
}

std::expected<Facts, ParseError> ours(Bytes p) {
  auto m = parse(p);
  if (!m) return std::unexpected(m.error());
  Facts f;
  if (const auto& q = m->question()) {
    f.qname = lower_wire(Name::from_packet(p, q->name).wire().data(), q->name.length);
    f.qtype = q->qtype;
    f.qclass = q->qclass;
    f.counts[0] = 1;
  }
  for (Section s : {Section::Answer, Section::Authority, Section::Additional}) {
    for (const Record& rr : m->records(s)) {
      ++f.counts[1 + static_cast<std::size_t>(s)];
      f.types.push_back(rr.type);
      f.owners.push_back(lower_wire(Name::from_packet(p, rr.owner).wire().data(), rr.owner.length));
      f.class_ttl.emplace_back(rr.rclass, rr.ttl);
    }
  }
  if (const auto& e = m->edns()) {
    f.payload = e->udp_size;
    f.version = e->version;
    f.do_bit = e->do_bit;
    for (const EdnsOption& o : m->edns_options()) f.options.emplace_back(o.code, o.data.size());
  }
  return f;
}

struct KnotFree {
  void operator()(knot_pkt_t* p) const { knot_pkt_free(p); }
};

void knot_edns(const knot_rrset_t* opt, Facts& f) {
  f.payload = knot_edns_get_payload(opt);
  f.version = knot_edns_get_version(opt);
  f.do_bit = knot_edns_do(opt);
  if (opt->rrs.count == 0) return;
  const std::uint8_t* at = opt->rrs.rdata->data;
  const std::uint8_t* end = at + opt->rrs.rdata->len;
  while (end - at >= 4) {
    const std::uint16_t len = knot_edns_opt_get_length(at);
    f.options.emplace_back(knot_edns_opt_get_code(at), len);
    at += 4 + std::min<std::ptrdiff_t>(len, end - at - 4);
  }
}

/// libknot's view; the error is libknot's (negative) error code.
std::expected<Facts, int> knot(Bytes p) {
  Packet wire(p.begin(), p.end());  // libknot takes a mutable buffer
  std::unique_ptr<knot_pkt_t, KnotFree> pkt(
      knot_pkt_new(wire.data(), static_cast<std::uint16_t>(wire.size()), nullptr));
  if (!pkt) return std::unexpected(KNOT_ENOMEM);
  if (const int ret = knot_pkt_parse(pkt.get(), 0); ret != KNOT_EOK) return std::unexpected(ret);
  Facts f;
  if (const knot_dname_t* qname = knot_pkt_wire_qname(pkt.get())) {
    f.qname = lower_wire(qname, pkt->qname_size);
    f.qtype = knot_pkt_qtype(pkt.get());
    f.qclass = knot_pkt_qclass(pkt.get());
  }
  f.counts[0] = knot_wire_get_qdcount(pkt->wire);
  for (int s = KNOT_ANSWER; s <= KNOT_ADDITIONAL; ++s) {
    const knot_pktsection_t* section = knot_pkt_section(pkt.get(), static_cast<knot_section_t>(s));
    f.counts[1 + static_cast<std::size_t>(s)] = section->count;
    for (std::uint16_t i = 0; i < section->count; ++i) {
      const knot_rrset_t* rr = knot_pkt_rr(section, i);
      f.types.push_back(rr->type);
      f.owners.push_back(lower_wire(rr->owner, knot_dname_size(rr->owner)));
      f.class_ttl.emplace_back(rr->rclass, rr->ttl);
    }
  }
  if (pkt->opt_rr != nullptr) knot_edns(pkt->opt_rr, f);
  return f;
}

// Why the name at `start` breaks parse()'s pointer rule, following the pointers as read_name does.
std::string pointer_kind(Bytes p, std::size_t start) {
  std::size_t pos = start;
  std::size_t segment = start;
  while (pos + 1 < p.size() && p[pos] != 0) {
    if ((p[pos] & 0xc0) != 0xc0) {
      pos += 1U + p[pos];
      continue;
    }
    const std::size_t target = static_cast<std::size_t>(((p[pos] & 0x3f) << 8) | p[pos + 1]);
    if (target < kHeaderSize) return "pointer into the header (knot follows it)";
    if (target >= segment && target < pos) return "pointer into its own run of labels (knot follows it)";
    if (target >= segment) return "UNEXPLAINED forward pointer";
    pos = segment = target;
  }
  return "UNEXPLAINED pointer";
}

/// Classifies what parse() rejected and libknot accepted, walking the message record by record
/// with read_name to the first broken name or OPT record.
std::string ours_only_kind(Bytes p, ParseError e) {
  Reader r(p);
  const Header h = read_header(r);
  const std::size_t names = std::size_t{h.qdcount} + h.ancount + h.nscount + h.arcount;
  for (std::size_t i = 0; i < names && r.ok(); ++i) {
    const std::size_t start = r.position();
    const auto name = read_name(r);
    if (!name && e == ParseError::BadPointer && name.error() == e) return pointer_kind(p, start);
    if (!name) break;
    if (i < h.qdcount) {
      r.skip(4);
      continue;
    }
    const std::uint16_t type = r.u16();
    if (type == rrtype::OPT && e == ParseError::BadOpt && name->labels != 0)
      return "OPT owner not the root (knot: any)";
    r.skip(6);
    r.skip(r.u16());
  }
  return std::string("UNEXPLAINED ours-only reject: ") + std::string(describe(e));
}

/// The index (from the first answer) of the record libknot failed on: it appends each record
/// whose wire form it could read, so that is its record count when the RDATA was the problem.
std::size_t knot_failed_record(Bytes p) {
  Packet wire(p.begin(), p.end());
  std::unique_ptr<knot_pkt_t, KnotFree> pkt(
      knot_pkt_new(wire.data(), static_cast<std::uint16_t>(wire.size()), nullptr));
  (void)knot_pkt_parse(pkt.get(), 0);
  return pkt->rrset_count;
}

/// True if libknot decodes the RDATA of `type` field by field (not as opaque octets). TXT has an
/// opaque descriptor, but libknot still checks that its character-strings fill the RDATA.
bool knot_decodes_rdata(std::uint16_t type) {
  if (type == rrtype::TXT) return true;
  const knot_rdata_descriptor_t* d = knot_get_rdata_descriptor(type);
  if (d->type_name == nullptr) d = knot_get_obsolete_rdata_descriptor(type);
  return d->type_name != nullptr && d->block_types[0] != KNOT_RDATA_WF_REMAINDER;
}

/// Classifies what libknot rejected and parse() accepted: the record libknot stopped at must have
/// an owner libknot accepts and a type whose RDATA libknot decodes.
std::string knot_only_kind(Bytes p, int knot_error) {
  const Message m = parse(p).value();
  std::size_t index = knot_failed_record(p);
  for (Section s : {Section::Answer, Section::Authority, Section::Additional}) {
    for (const Record& rr : m.records(s)) {
      if (index-- != 0) continue;
      if (knot_dname_wire_check(p.data() + rr.owner.offset, p.data() + p.size(), p.data()) > 0 &&
          knot_decodes_rdata(rr.type))
        return "knot checks RDATA of the types it knows (ours: opaque)";
      return "UNEXPLAINED knot-only reject at record type " + std::to_string(rr.type);
    }
  }
  return std::string("UNEXPLAINED knot-only reject: ") + knot_strerror(knot_error);
}

/// Tallies outcomes; every divergence is classified into a kind or "UNEXPLAINED ...".
class Tally {
 public:
  /// Runs both parsers on a message that must be valid.
  void valid(std::string_view source, Bytes p) {
    ++runs_;
    const auto a = ours(p);
    const auto b = knot(p);
    ASSERT_TRUE(a.has_value()) << source << ": parse() rejects a valid message: " << describe(a.error()) << "\n"
                               << common::to_hex(p);
    ASSERT_TRUE(b.has_value()) << source << ": libknot rejects a valid message: " << knot_strerror(b.error()) << "\n"
                               << common::to_hex(p);
    ASSERT_EQ(*a, *b) << source << "\nours: " << show(*a) << "\nknot: " << show(*b) << "\n" << common::to_hex(p);
    ++both_accept_;
  }

  /// Runs both parsers on a mutated message: agreement when both accept, known divergences only.
  void mutated(std::string_view mutation, Bytes p) {
    ++runs_;
    const auto a = ours(p);
    const auto b = knot(p);
    if (a && b) {
      ++both_accept_;
      ASSERT_EQ(*a, *b) << mutation << "\nours: " << show(*a) << "\nknot: " << show(*b) << "\n" << common::to_hex(p);
    } else if (!a && !b) {
      ++both_reject_;
    } else {
      const std::string kind = a ? knot_only_kind(p, b.error()) : ours_only_kind(p, a.error());
      ++divergences_[kind];
      if (kind.starts_with("UNEXPLAINED") && examples_.size() < 5)
        examples_.push_back(kind + " after " + std::string(mutation) + ":\n" + common::to_hex(p));
    }
  }

  void report() const {
    std::cout << "[ knot diff ] " << runs_ << " messages: both accept " << both_accept_ << ", both reject "
              << both_reject_ << "\n";
    for (const auto& [kind, n] : divergences_) std::cout << "[ knot diff ] divergence " << kind << ": " << n << "\n";
    for (const auto& [kind, n] : divergences_) EXPECT_FALSE(kind.starts_with("UNEXPLAINED")) << kind;
    for (const auto& e : examples_) ADD_FAILURE() << e;
  }

 private:
  std::size_t runs_ = 0;
  std::size_t both_accept_ = 0;
  std::size_t both_reject_ = 0;
  std::map<std::string, std::size_t> divergences_;
  std::vector<std::string> examples_;
};

std::vector<std::pair<std::string, Packet>> load_fixtures() {
  std::vector<std::pair<std::string, Packet>> out;
  if (!std::filesystem::is_directory(DNSFENCE_TEST_DATA)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(DNSFENCE_TEST_DATA)) {
    if (entry.path().extension() != ".hex") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto bytes = common::parse_hex(text.str());
    EXPECT_TRUE(bytes.has_value()) << entry.path() << ": " << bytes.error();
    if (bytes) out.emplace_back(entry.path().filename().string(), std::move(*bytes));
  }
  return out;
}

TEST(KnotDifferential, FixturesAgree) {
  const auto fixtures = load_fixtures();
  if (fixtures.empty()) GTEST_SKIP() << "no tests/data/*.hex fixtures in this tree";
  Tally tally;
  for (const auto& [name, bytes] : fixtures) tally.valid(name, bytes);
  tally.report();
}

TEST(KnotDifferential, GeneratedAndMutatedMessagesAgree) {
  constexpr std::size_t kMessages = 20000;
  testing::PacketGenerator gen(20261128);
  Tally tally;
  for (std::size_t i = 0; i < kMessages; ++i) {
    const testing::Generated g = gen.next();
    tally.valid("generated #" + std::to_string(i), g.bytes);
    if (::testing::Test::HasFatalFailure()) return;
    for (int m = 0; m < 2; ++m) {  // two independent mutations of each
      testing::Mutation kind{};
      const Packet broken = gen.mutate(g, kind);
      tally.mutated(testing::mutation_name(kind), broken);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
  tally.report();
}

}  // namespace
}  // namespace dnsfence::dns
