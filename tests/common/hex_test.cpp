#include "common/hex.hpp"

#include <gtest/gtest.h>

namespace dnsfence::common {
namespace {

TEST(Hex, ParsesWithCommentsAndWhitespace) {
  auto b = parse_hex("# a comment\n00 ff\tAb\n# more\n0c");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, (std::vector<std::uint8_t>{0x00, 0xff, 0xab, 0x0c}));
}

TEST(Hex, RejectsNonHexWithLine) {
  auto b = parse_hex("00\n0g");
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error(), "line 2: not a hex digit: 'g'");
}

TEST(Hex, RejectsOddDigits) {
  EXPECT_FALSE(parse_hex("abc").has_value());
}

TEST(Hex, RoundTrips) {
  std::vector<std::uint8_t> bytes(40);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7);
  const std::string text = to_hex(bytes);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
  EXPECT_EQ(parse_hex(text).value(), bytes);
  EXPECT_EQ(to_hex(std::vector<std::uint8_t>{1, 0xab}, 0), "01ab");
}

}  // namespace
}  // namespace dnsfence::common
