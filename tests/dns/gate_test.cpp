#include "dns/gate.hpp"

#include <gtest/gtest.h>

#include "dns/testing_packets.hpp"

namespace dnsfence::dns {
namespace {

using testing::PacketBytes;
using testing::query;

TEST(Gate, AcceptsAWellFormedQuery) {
  auto p = query("example.net", rrtype::A, 1232);
  GateResult g = gate(p);
  EXPECT_EQ(g.action, GateAction::Accept);
  ASSERT_TRUE(g.message.has_value());
  EXPECT_EQ(g.message->question()->qtype, rrtype::A);
}

TEST(Gate, DropsShorterThanAHeader) {
  std::vector<std::uint8_t> p{0x12, 0x34, 0x01, 0x00, 0x00};
  EXPECT_EQ(gate(p).action, GateAction::Drop);
  EXPECT_EQ(gate(std::vector<std::uint8_t>{}).action, GateAction::Drop);
}

TEST(Gate, DropsResponses) {
  auto p = query("example.net");
  p[2] |= 0x80;
  EXPECT_EQ(gate(p).action, GateAction::Drop);
}

TEST(Gate, NotImpForOtherOpcodes) {
  for (std::uint8_t opcode : {1, 2, 4, 5, 15}) {
    auto p = query("example.net");
    p[2] = static_cast<std::uint8_t>((p[2] & 0x87) | (opcode << 3));
    EXPECT_EQ(gate(p).action, GateAction::NotImp) << int(opcode);
  }
}

TEST(Gate, FormErrForQdcountNotOne) {
  PacketBytes zero;
  zero.header(1, 0x0100, 0);
  EXPECT_EQ(gate(zero.b).action, GateAction::FormErr);
  PacketBytes two;
  two.header(1, 0x0100, 2).name("a.test").u16(1).u16(1).name("b.test").u16(1).u16(1);
  EXPECT_EQ(gate(two.b).action, GateAction::FormErr);
}

TEST(Gate, FormErrWhenUnparseableButHeaderReadable) {
  PacketBytes p;
  p.header(1, 0x0100, 1).raw({0xc0, 12}).u16(1).u16(1);  // question name pointing at itself
  GateResult g = gate(p.b);
  EXPECT_EQ(g.action, GateAction::FormErr);
  EXPECT_EQ(g.error, ParseError::BadPointer);
  EXPECT_EQ(g.header.id, 1);
  auto t = query("a.test");
  t.resize(t.size() - 2);
  EXPECT_EQ(gate(t).action, GateAction::FormErr);
}

TEST(Gate, BadVersForEdnsAboveZero) {
  PacketBytes p;
  p.header(1, 0x0100, 1, 0, 0, 1).name("a.test").u16(1).u16(1).opt(1232, 1, false);
  EXPECT_EQ(gate(p.b).action, GateAction::BadVers);
}

}  // namespace
}  // namespace dnsfence::dns
