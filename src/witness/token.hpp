#pragma once
// Probe tokens: the first label of every probe name. A token carries a run id, a probe number, the
// run's expiry and the id of the key that minted it, authenticated by a truncated HMAC-SHA256, in
// lowercase base32 (RFC 4648 alphabet, no padding). So any instance holding the key decides from
// the label alone whether a name is genuine and its run still alive — no store lookup on the DNS
// path — and a forged, altered or expired label is refused before anything is recorded.
//
// Runs have two names. The RunId (64 bits) is inside every probe name, which every resolver on the
// path sees. Reading a run's results takes its RunKey (128 random bits) that only the client who
// created the run gets; the RunId is derived from the RunKey by a one-way hash, never the reverse.

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dnsfence::witness {

/// 64 bits naming a run inside probe names and the store; shown as 16 lowercase hex digits.
struct RunId {
  std::array<std::uint8_t, 8> bytes{};
  friend bool operator==(const RunId&, const RunId&) = default;
  /// 16 lowercase hex digits.
  [[nodiscard]] std::string to_text() const;
  /// Parses 16 hex digits (any case); nothing else is accepted.
  static std::expected<RunId, std::string_view> from_text(std::string_view text) noexcept;
};

struct RunIdHash {
  std::size_t operator()(const RunId& id) const noexcept;
};

/// The capability to read a run: 128 random bits, 32 lowercase hex digits in the API.
struct RunKey {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const RunKey&, const RunKey&) = default;
  [[nodiscard]] std::string to_text() const;
  /// Parses 32 hex digits (any case); nothing else is accepted.
  static std::expected<RunKey, std::string_view> from_text(std::string_view text) noexcept;
  /// A fresh key from the kernel's CSPRNG. Throws std::runtime_error if it has no entropy.
  static RunKey random();
  /// The run's id: the first 8 octets of SHA-256("dnsfence-witness-run-v1" || key).
  [[nodiscard]] RunId id() const noexcept;
  /// Octets 8..23 of the same hash: stored with the run, compared when the key is presented, so a
  /// key whose id merely collides reads nothing.
  [[nodiscard]] std::array<std::uint8_t, 16> check() const noexcept;
};

struct Token {
  RunId run;
  std::uint16_t probe = 0;
  std::uint32_t expires = 0;  // the run's expiry, seconds since the Unix epoch
};

enum class TokenError : std::uint8_t {
  BadLength,    // not exactly kTokenChars characters
  BadAlphabet,  // a character outside base32 (case-insensitive)
  BadMac,       // no accepted key's HMAC matches: forged, altered, or minted under another key
};

inline constexpr std::size_t kTokenBytes = 25;  // run 8 + probe 2 + expires 4 + key id 1 + mac 10
inline constexpr std::size_t kTokenChars = 40;  // base32 of 25 octets, no padding
inline constexpr std::size_t kMinKeyBytes = 16;

/// One HMAC key (at least kMinKeyBytes octets) and its one-octet id, carried in the tokens it mints.
class Key {
 public:
  /// Throws std::invalid_argument if shorter than kMinKeyBytes.
  explicit Key(std::vector<std::uint8_t> bytes);
  /// A fresh random 32-octet key (a single process, runs that do not survive restarts).
  static Key random();
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
  /// The first octet of HMAC-SHA256(key, "dnsfence-witness-key-id"): which key minted a token.
  [[nodiscard]] std::uint8_t id() const noexcept { return id_; }
  /// Unique per Key object (copies share it): what per-thread prepared MAC states are cached by.
  [[nodiscard]] std::uint64_t serial() const noexcept { return serial_; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::uint8_t id_ = 0;
  std::uint64_t serial_ = 0;
};

/// The key that mints new tokens, and the further keys whose tokens are still accepted: the next
/// key while a fleet rolls it out, the previous one until its last runs expire (docs/witness.md).
class Keyring {
 public:
  explicit Keyring(Key minting, std::vector<Key> also_accepted = {});
  [[nodiscard]] const Key& minting() const noexcept { return keys_.front(); }
  /// Every accepted key, the minting key first.
  [[nodiscard]] std::span<const Key> keys() const noexcept { return keys_; }
  /// The first accepted key with this id, or nullptr.
  [[nodiscard]] const Key* find(std::uint8_t id) const noexcept;

 private:
  std::vector<Key> keys_;
};

/// The token label for `token` under `key` (kTokenChars lowercase characters). Throws
/// std::runtime_error if libgcrypt fails.
std::string encode_token(const Key& key, const Token& token);
/// The same under the keyring's minting key.
std::string encode_token(const Keyring& keys, const Token& token);

/// Decodes and authenticates a label under any accepted key, ignoring ASCII case (resolvers may
/// randomise it, as with "0x20"). Says nothing about expiry (token_live). Constant-time MAC
/// comparison; allocates nothing after a thread's first use of a key; never throws.
std::expected<Token, TokenError> verify_token(const Keyring& keys, std::span<const std::uint8_t> label) noexcept;

/// True while the token's run is alive at `now`: not expired, and not claiming a lifetime longer
/// than `max_ttl` (plus `skew` for clocks that differ across a fleet), which no key holder minting
/// honestly would do.
bool token_live(const Token& token, std::chrono::system_clock::time_point now, std::chrono::seconds max_ttl,
                std::chrono::seconds skew = std::chrono::seconds(300)) noexcept;

/// A short, stable reason for a TokenError.
std::string_view describe(TokenError e) noexcept;

}  // namespace dnsfence::witness
