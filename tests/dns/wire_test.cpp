#include "dns/wire.hpp"

#include <gtest/gtest.h>

#include <array>

namespace dnsfence::dns {
namespace {

TEST(Reader, ReadsBigEndian) {
  const std::array<std::uint8_t, 7> data{0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x7f};
  Reader r(data);
  EXPECT_EQ(r.u16(), 0x1234);
  EXPECT_EQ(r.u32(), 0xdeadbeefU);
  EXPECT_EQ(r.u8(), 0x7f);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0U);
}

TEST(Reader, FirstErrorIsStickyAndLaterReadsReturnZero) {
  const std::array<std::uint8_t, 3> data{0xff, 0xff, 0xff};
  Reader r(data);
  EXPECT_EQ(r.u16(), 0xffff);
  EXPECT_EQ(r.u16(), 0);  // only one byte left: fails without consuming it
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.u8(), 0);  // a byte remains, but the reader stays failed
  EXPECT_TRUE(r.bytes(1).empty());
  EXPECT_EQ(r.position(), 2U);
}

TEST(Reader, SeekPastEndFails) {
  const std::array<std::uint8_t, 2> data{1, 2};
  Reader r(data);
  r.seek(2);
  EXPECT_TRUE(r.ok());
  r.seek(3);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(Reader(data, 3).ok());
}

TEST(Reader, SkipAndBytesAreBounded) {
  const std::array<std::uint8_t, 4> data{1, 2, 3, 4};
  Reader r(data);
  EXPECT_EQ(r.bytes(2).size(), 2U);
  r.skip(3);
  EXPECT_FALSE(r.ok());
}

TEST(Writer, WritesBigEndianAndPatches) {
  std::array<std::uint8_t, 8> out{};
  Writer w(out);
  w.u16(0);
  w.u32(0x01020304);
  w.patch_u16(0, 0xabcd);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w.size(), 6U);
  EXPECT_EQ(out[0], 0xab);
  EXPECT_EQ(out[5], 0x04);
}

TEST(Writer, OverflowIsStickyAndNeverWritesOutOfBounds) {
  std::array<std::uint8_t, 5> out{};
  std::span<std::uint8_t> first3(out.data(), 3);
  Writer w(first3);
  w.u16(0x1111);
  w.u16(0x2222);  // does not fit
  EXPECT_FALSE(w.ok());
  w.u8(0x33);  // would fit, but the writer is failed
  EXPECT_EQ(w.size(), 2U);
  EXPECT_EQ(out[2], 0);
  EXPECT_EQ(out[3], 0);
  w.rewind(1);
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(w.size(), 1U);
}

}  // namespace
}  // namespace dnsfence::dns
