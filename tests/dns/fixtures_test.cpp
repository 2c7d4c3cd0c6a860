// Real packets captured from kdig and unbound (tests/data/*.hex, see its README): each parses,
// and each round-trips through a re-encoder built on the codec's Writer.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/hex.hpp"
#include "dns/gate.hpp"
#include "dns/message.hpp"
#include "dns/text.hpp"

namespace dnsfence::dns {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  std::string name;
  std::vector<std::uint8_t> bytes;
};

std::vector<Fixture> load_fixtures() {
  std::vector<Fixture> out;
  for (const auto& entry : fs::directory_iterator(DNSFENCE_TEST_DATA)) {
    if (entry.path().extension() != ".hex") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto bytes = common::parse_hex(text.str());
    EXPECT_TRUE(bytes.has_value()) << entry.path() << ": " << bytes.error();
    if (bytes) out.push_back({entry.path().filename().string(), std::move(*bytes)});
  }
  std::ranges::sort(out, {}, &Fixture::name);
  return out;
}

// Writes a parsed message back with every name uncompressed and RDATA copied as-is (names in
// RDATA are compared through their presentation form instead).
std::vector<std::uint8_t> reencode(const Message& m) {
  std::vector<std::uint8_t> buf(65535);
  Writer w(buf);
  write_header(w, m.header());
  if (const auto& q = m.question()) {
    w.bytes(Name::from_packet(m.packet(), q->name).wire());
    w.u16(q->qtype);
    w.u16(q->qclass);
  }
  for (Section s : {Section::Answer, Section::Authority, Section::Additional}) {
    for (const Record& rr : m.records(s)) {
      w.bytes(Name::from_packet(m.packet(), rr.owner).wire());
      w.u16(rr.type);
      w.u16(rr.rclass);
      w.u32(rr.ttl);
      w.u16(rr.rdata_length);
      w.bytes(rdata(m.packet(), rr));
    }
  }
  buf.resize(w.size());
  return buf;
}

std::vector<std::string> record_texts(const Message& m) {
  std::vector<std::string> out;
  for (Section s : {Section::Answer, Section::Authority, Section::Additional})
    for (const Record& rr : m.records(s)) out.push_back(record_text(m.packet(), rr));
  return out;
}

bool has_compression_in_rdata(const Message& m) {
  for (Section s : {Section::Answer, Section::Authority, Section::Additional})
    for (const Record& rr : m.records(s))
      if (rr.type == rrtype::NS || rr.type == rrtype::CNAME || rr.type == rrtype::MX || rr.type == rrtype::SOA ||
          rr.type == rrtype::PTR)
        return true;
  return false;
}

TEST(Fixtures, ThereAreRealCapturesOfQueriesAndResponses) {
  const auto all = load_fixtures();
  EXPECT_GE(all.size(), 20U);
  EXPECT_TRUE(std::ranges::any_of(all, [](const Fixture& f) { return f.name.starts_with("query_"); }));
  EXPECT_TRUE(std::ranges::any_of(all, [](const Fixture& f) { return f.name.starts_with("response_"); }));
}

TEST(Fixtures, EveryFixtureParsesAndRoundTrips) {
  for (const Fixture& f : load_fixtures()) {
    SCOPED_TRACE(f.name);
    auto m = parse(f.bytes);
    ASSERT_TRUE(m.has_value()) << describe(m.error());
    const auto again = reencode(*m);
    auto m2 = parse(again);
    ASSERT_TRUE(m2.has_value()) << describe(m2.error());
    EXPECT_EQ(message_text(*m), message_text(*m2));
    if (!has_compression_in_rdata(*m)) {
      // Without names inside RDATA, re-parsing the re-encoding and encoding again is stable.
      EXPECT_EQ(reencode(*m2), again);
    }
    EXPECT_EQ(record_texts(*m), record_texts(*m2));
    // Queries from kdig are never compressed: the re-encoding is byte-identical.
    if (f.name.starts_with("query_")) {
      EXPECT_EQ(again, f.bytes);
      EXPECT_EQ(gate(f.bytes).action, GateAction::Accept);
    } else {
      EXPECT_EQ(gate(f.bytes).action, GateAction::Drop);  // QR set
    }
  }
}

}  // namespace
}  // namespace dnsfence::dns
