#include "witness/token.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dnsfence::witness {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Key key(std::uint8_t fill) {
  return Key(std::vector<std::uint8_t>(32, fill));
}

TEST(Token, RoundTripsAndIsDnsSafe) {
  const Key k = key(1);
  const Token t{RunId::random(), 513};
  const std::string label = encode_token(k, t);
  ASSERT_EQ(label.size(), kTokenChars);
  for (const char c : label) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << label;
  auto v = verify_token(k, bytes(label));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->run, t.run);
  EXPECT_EQ(v->probe, 513);
}

TEST(Token, IgnoresCaseLikeDns0x20) {
  const Key k = key(2);
  std::string label = encode_token(k, Token{RunId::random(), 7});
  for (std::size_t i = 0; i < label.size(); i += 2) label[i] = static_cast<char>(std::toupper(label[i]));
  EXPECT_TRUE(verify_token(k, bytes(label)));
}

TEST(Token, ForgedOrAlteredIsRefused) {
  const Key k = key(3);
  const Token t{RunId::random(), 1};
  const std::string label = encode_token(k, t);
  // Another key: a token minted by someone else.
  auto other = verify_token(k, bytes(encode_token(key(4), t)));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), TokenError::BadMac);
  // Every single-character change is detected.
  for (std::size_t i = 0; i < label.size(); ++i) {
    std::string altered = label;
    altered[i] = altered[i] == 'a' ? 'b' : 'a';
    auto v = verify_token(k, bytes(altered));
    ASSERT_FALSE(v) << i;
    EXPECT_EQ(v.error(), TokenError::BadMac);
  }
}

TEST(Token, RejectsWrongShape) {
  const Key k = key(5);
  EXPECT_EQ(verify_token(k, bytes("short")).error(), TokenError::BadLength);
  EXPECT_EQ(verify_token(k, bytes(std::string(32, '1'))).error(), TokenError::BadAlphabet);
  EXPECT_EQ(verify_token(k, bytes(std::string(32, '-'))).error(), TokenError::BadAlphabet);
}

TEST(Token, KeyMustBeLongEnough) {
  EXPECT_THROW(Key(std::vector<std::uint8_t>(kMinKeyBytes - 1, 0)), std::invalid_argument);
  EXPECT_NO_THROW(Key(std::vector<std::uint8_t>(kMinKeyBytes, 0)));
}

TEST(RunIdText, RoundTripsAndRejectsJunk) {
  const RunId id = RunId::random();
  EXPECT_EQ(RunId::from_text(id.to_text()).value(), id);
  EXPECT_FALSE(RunId::from_text("0123"));
  EXPECT_FALSE(RunId::from_text("0123456789abcdeg"));
  EXPECT_TRUE(RunId::from_text("0123456789ABCDEF"));
}

}  // namespace
}  // namespace dnsfence::witness
