#include "witness/token.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace dnsfence::witness {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Key key(std::uint8_t fill) {
  return Key(std::vector<std::uint8_t>(32, fill));
}

Token token(std::uint16_t probe = 1, std::uint32_t expires = 1'800'003'600) {
  return Token{RunKey::random().id(), probe, expires};
}

TEST(Token, RoundTripsAndIsDnsSafe) {
  const Keyring k(key(1));
  const Token t = token(513);
  const std::string label = encode_token(k, t);
  ASSERT_EQ(label.size(), kTokenChars);
  for (const char c : label) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << label;
  auto v = verify_token(k, bytes(label));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->run, t.run);
  EXPECT_EQ(v->probe, 513);
  EXPECT_EQ(v->expires, t.expires);
}

TEST(Token, IgnoresCaseLikeDns0x20) {
  const Keyring k(key(2));
  std::string label = encode_token(k, token(7));
  for (std::size_t i = 0; i < label.size(); i += 2) label[i] = static_cast<char>(std::toupper(label[i]));
  EXPECT_TRUE(verify_token(k, bytes(label)));
}

TEST(Token, ForgedOrAlteredIsRefused) {
  const Keyring k(key(3));
  const Token t = token();
  const std::string label = encode_token(k, t);
  // Another key: a token minted by someone else.
  auto other = verify_token(k, bytes(encode_token(Keyring(key(4)), t)));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), TokenError::BadMac);
  // Every single-character change is detected, the expiry and the key id included.
  for (std::size_t i = 0; i < label.size(); ++i) {
    std::string altered = label;
    altered[i] = altered[i] == 'a' ? 'b' : 'a';
    auto v = verify_token(k, bytes(altered));
    ASSERT_FALSE(v) << i;
    EXPECT_EQ(v.error(), TokenError::BadMac);
  }
}

// The prepared HMAC state is reused per thread: it must keep its key across uses, and threads
// must not share it.
TEST(Token, PreparedMacStatesKeepTheirKeys) {
  const Keyring a(key(5));
  const Keyring b(key(6));
  const Token t = token();
  const std::string first = encode_token(a, t);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(encode_token(b, t), first);
    EXPECT_EQ(encode_token(a, t), first);
  }
  std::string elsewhere;
  std::thread([&] { elsewhere = encode_token(a, t); }).join();
  EXPECT_EQ(elsewhere, first);
}

// A vector computed with Python's hmac module (an independent HMAC-SHA256):
//   body = run 0123456789abcdef || probe 1 || expires 1800001800 || key id, key = 32 x 0x5a
//   mac = HMAC(key, "dnsfence-witness-token-v2" || body)[:10]; key id = HMAC(key, "dnsfence-witness-key-id")[0]
TEST(Token, MatchesAnIndependentHmac) {
  const Keyring k(key(0x5a));
  EXPECT_EQ(k.minting().id(), 86);
  const Token t{RunId::from_text("0123456789abcdef").value(), 1, 1'800'001'800};
  EXPECT_EQ(encode_token(k, t), "aerukz4jvpg66aabnne5sccwmr6co2inuybmmp47");
  EXPECT_EQ(encode_token(k, t), "aerukz4jvpg66aabnne5sccwmr6co2inuybmmp47");  // the reused state
}

TEST(Token, RejectsWrongShape) {
  const Keyring k(key(5));
  EXPECT_EQ(verify_token(k, bytes("short")).error(), TokenError::BadLength);
  EXPECT_EQ(verify_token(k, bytes(std::string(32, 'a'))).error(), TokenError::BadLength);  // a v1 token
  EXPECT_EQ(verify_token(k, bytes(std::string(kTokenChars, '1'))).error(), TokenError::BadAlphabet);
  EXPECT_EQ(verify_token(k, bytes(std::string(kTokenChars, '-'))).error(), TokenError::BadAlphabet);
}

TEST(Token, KeyMustBeLongEnough) {
  EXPECT_THROW(Key(std::vector<std::uint8_t>(kMinKeyBytes - 1, 0)), std::invalid_argument);
  EXPECT_NO_THROW(Key(std::vector<std::uint8_t>(kMinKeyBytes, 0)));
}

TEST(Token, LiveUntilItsExpiryAndNeverLongerThanTheRunTtl) {
  const auto now = Clock::time_point(seconds(1'800'000'000));
  const seconds ttl(3600);
  EXPECT_TRUE(token_live(token(1, 1'800'000'001), now, ttl));
  EXPECT_FALSE(token_live(token(1, 1'800'000'000), now, ttl));  // expired this second
  EXPECT_TRUE(token_live(token(1, 1'800'003'600), now, ttl));
  // A fleet's clocks may differ by minutes; a claim beyond the run TTL plus that is no real token.
  EXPECT_TRUE(token_live(token(1, 1'800'003'600 + 300), now, ttl));
  EXPECT_FALSE(token_live(token(1, 1'800'003'600 + 301), now, ttl));
}

// A fleet rotates keys in three steps (docs/witness.md): the next key accepted everywhere, then
// minting with it while the previous one is still accepted, then the previous one removed.
TEST(Token, RotationAcceptsTheOtherKeysOnly) {
  const Key old_key = key(7);
  const Key new_key = key(8);
  const Token t = token();
  const std::string minted_old = encode_token(Keyring(old_key), t);
  const std::string minted_new = encode_token(Keyring(new_key), t);
  const Keyring step1(old_key, {new_key});
  const Keyring step2(new_key, {old_key});
  const Keyring step3(new_key);
  for (const Keyring* k : {&step1, &step2}) {
    EXPECT_TRUE(verify_token(*k, bytes(minted_old)));
    EXPECT_TRUE(verify_token(*k, bytes(minted_new)));
  }
  EXPECT_EQ(encode_token(step2, t), minted_new);
  EXPECT_FALSE(verify_token(step3, bytes(minted_old)));
  EXPECT_NE(old_key.id(), new_key.id());
  EXPECT_EQ(step2.find(old_key.id()), &step2.keys()[1]);
}

TEST(RunKey, TextRoundTripsAndTheIdIsDerivedOneWay) {
  const RunKey k = RunKey::random();
  EXPECT_EQ(k.to_text().size(), 32U);
  EXPECT_EQ(RunKey::from_text(k.to_text()).value(), k);
  EXPECT_FALSE(RunKey::from_text(k.id().to_text()));  // the id in probe names is no key
  EXPECT_FALSE(RunKey::from_text(std::string(31, 'a') + "g"));
  EXPECT_EQ(k.id(), RunKey::from_text(k.to_text()).value().id());
  EXPECT_NE(k.id(), RunKey::random().id());
  EXPECT_EQ(RunId::from_text(k.id().to_text()).value(), k.id());
  EXPECT_TRUE(RunId::from_text("0123456789ABCDEF"));
  EXPECT_FALSE(RunId::from_text("0123456789abcdeg"));
}

}  // namespace
}  // namespace dnsfence::witness
