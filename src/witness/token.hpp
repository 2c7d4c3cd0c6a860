#pragma once
// Probe tokens: the first label of every probe name. A token carries a run id, a probe number and
// a truncated HMAC-SHA256 under the deployment's key, in lowercase base32 (RFC 4648 alphabet, no
// padding), so only this deployment can mint names it will record, and a forged or altered label
// is refused before anything is stored.

#include <array>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dnsfence::witness {

/// 64 random bits naming a run; shown as 16 lowercase hex digits.
struct RunId {
  std::array<std::uint8_t, 8> bytes{};
  friend bool operator==(const RunId&, const RunId&) = default;
  /// 16 lowercase hex digits.
  [[nodiscard]] std::string to_text() const;
  /// Parses 16 hex digits (any case); nothing else is accepted.
  static std::expected<RunId, std::string_view> from_text(std::string_view text) noexcept;
  /// A fresh id from OpenSSL's CSPRNG. Throws std::runtime_error if it has no entropy.
  static RunId random();
};

struct RunIdHash {
  std::size_t operator()(const RunId& id) const noexcept;
};

struct Token {
  RunId run;
  std::uint16_t probe = 0;
};

enum class TokenError : std::uint8_t {
  BadLength,    // not exactly kTokenChars characters
  BadAlphabet,  // a character outside base32 (case-insensitive)
  BadMac,       // the HMAC does not match: forged, altered, or minted under another key
};

inline constexpr std::size_t kTokenBytes = 20;  // run 8 + probe 2 + mac 10
inline constexpr std::size_t kTokenChars = 32;  // base32 of 20 octets, no padding
inline constexpr std::size_t kMinKeyBytes = 16;

/// The deployment's HMAC key (at least kMinKeyBytes octets).
class Key {
 public:
  /// Throws std::invalid_argument if shorter than kMinKeyBytes.
  explicit Key(std::vector<std::uint8_t> bytes);
  /// A fresh random 32-octet key (a single process, runs that do not survive restarts).
  static Key random();
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

/// The token label for `token` under `key` (kTokenChars lowercase characters).
std::string encode_token(const Key& key, const Token& token);

/// Decodes and authenticates a label, ignoring ASCII case (resolvers may randomise it, as with
/// "0x20"). Constant-time MAC comparison; allocates nothing; never throws.
std::expected<Token, TokenError> verify_token(const Key& key, std::span<const std::uint8_t> label) noexcept;

/// A short, stable reason for a TokenError.
std::string_view describe(TokenError e) noexcept;

}  // namespace dnsfence::witness
