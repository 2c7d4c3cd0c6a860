#include "witness/token.hpp"

#include <gcrypt.h>
#include <sys/random.h>
#include <cerrno>

#include <cstring>
#include <stdexcept>

#include "common/hex.hpp"

namespace dnsfence::witness {
namespace {

constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kMacBytes = kTokenBytes - 10;
constexpr std::string_view kDomain = "dnsfence-witness-token-v1";

using Raw = std::array<std::uint8_t, kTokenBytes>;

int base32_value(std::uint8_t c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// libgcrypt (not OpenSSL: libcrypto would cost every dnsfence process ~3 MiB resident, and
// libgcrypt is already mapped through libsystemd). Initialised once, before any other use.
bool gcrypt_ready() noexcept {
  static const bool ready = [] {
    if (gcry_check_version(GCRYPT_VERSION) == nullptr) return false;
    gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    return true;
  }();
  return ready;
}

// HMAC-SHA256(key, domain || run || probe), the first kMacBytes octets. False if libgcrypt fails.
bool mac(const Key& key, const std::uint8_t* body, std::array<std::uint8_t, kMacBytes>& out) noexcept {
  std::array<std::uint8_t, kDomain.size() + 10> input{};
  std::memcpy(input.data(), kDomain.data(), kDomain.size());
  std::memcpy(input.data() + kDomain.size(), body, 10);
  std::array<std::uint8_t, 32> full{};
  std::size_t length = full.size();
  const auto k = key.bytes();
  gcry_mac_hd_t h = nullptr;
  if (!gcrypt_ready() || gcry_mac_open(&h, GCRY_MAC_HMAC_SHA256, 0, nullptr) != 0) return false;
  const bool ok = gcry_mac_setkey(h, k.data(), k.size()) == 0 && gcry_mac_write(h, input.data(), input.size()) == 0 &&
                  gcry_mac_read(h, full.data(), &length) == 0 && length == full.size();
  gcry_mac_close(h);
  if (ok) std::memcpy(out.data(), full.data(), kMacBytes);
  return ok;
}

// Compares in time independent of where the first difference is.
bool same_mac(const std::uint8_t* a, const std::uint8_t* b) noexcept {
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < kMacBytes; ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

// Fills `out` from the kernel's CSPRNG; throws if it cannot.
void random_bytes(std::uint8_t* out, std::size_t n) {
  while (n > 0) {
    const ssize_t got = getrandom(out, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw std::runtime_error("getrandom failed");
    out += got;
    n -= static_cast<std::size_t>(got);
  }
}

}  // namespace

std::string RunId::to_text() const {
  return common::to_hex(bytes, 0);
}

std::expected<RunId, std::string_view> RunId::from_text(std::string_view text) noexcept {
  if (text.size() != 16) return std::unexpected("a run id is 16 hex digits");
  RunId id;
  for (std::size_t i = 0; i < 8; ++i) {
    const int hi = common::hex_value(text[2 * i]);
    const int lo = common::hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::unexpected("a run id is 16 hex digits");
    id.bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return id;
}

RunId RunId::random() {
  RunId id;
  random_bytes(id.bytes.data(), id.bytes.size());
  return id;
}

std::size_t RunIdHash::operator()(const RunId& id) const noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, id.bytes.data(), sizeof v);  // already uniformly random
  return static_cast<std::size_t>(v);
}

Key::Key(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {
  if (bytes_.size() < kMinKeyBytes)
    throw std::invalid_argument("witness key too short: need at least " + std::to_string(kMinKeyBytes) + " octets");
}

Key Key::random() {
  std::vector<std::uint8_t> bytes(32);
  random_bytes(bytes.data(), bytes.size());
  return Key(std::move(bytes));
}

std::string encode_token(const Key& key, const Token& token) {
  Raw raw{};
  std::memcpy(raw.data(), token.run.bytes.data(), 8);
  raw[8] = static_cast<std::uint8_t>(token.probe >> 8);
  raw[9] = static_cast<std::uint8_t>(token.probe);
  std::array<std::uint8_t, kMacBytes> m{};
  if (!mac(key, raw.data(), m)) throw std::runtime_error("HMAC-SHA256 failed");
  std::memcpy(raw.data() + 10, m.data(), kMacBytes);
  std::string out;
  // 20 octets = 160 bits = 32 groups of 5 bits: no padding.
  for (std::size_t bit = 0; bit < kTokenBytes * 8; bit += 5) {
    unsigned v = 0;
    for (std::size_t i = 0; i < 5; ++i) v = (v << 1) | ((raw[(bit + i) / 8] >> (7 - (bit + i) % 8)) & 1U);
    out += kAlphabet[v];
  }
  return out;
}

std::expected<Token, TokenError> verify_token(const Key& key, std::span<const std::uint8_t> label) noexcept {
  if (label.size() != kTokenChars) return std::unexpected(TokenError::BadLength);
  Raw raw{};
  std::size_t bit = 0;
  for (const std::uint8_t c : label) {
    const int v = base32_value(c);
    if (v < 0) return std::unexpected(TokenError::BadAlphabet);
    for (int i = 4; i >= 0; --i, ++bit) {
      if (((v >> i) & 1) != 0) raw[bit / 8] |= static_cast<std::uint8_t>(0x80U >> (bit % 8));
    }
  }
  std::array<std::uint8_t, kMacBytes> expected{};
  if (!mac(key, raw.data(), expected) || !same_mac(expected.data(), raw.data() + 10))
    return std::unexpected(TokenError::BadMac);
  Token t;
  std::memcpy(t.run.bytes.data(), raw.data(), 8);
  t.probe = static_cast<std::uint16_t>((raw[8] << 8) | raw[9]);
  return t;
}

std::string_view describe(TokenError e) noexcept {
  switch (e) {
    case TokenError::BadLength:
      return "not a token: wrong length";
    case TokenError::BadAlphabet:
      return "not a token: character outside base32";
    case TokenError::BadMac:
      return "forged token: HMAC mismatch";
  }
  return "?";
}

}  // namespace dnsfence::witness
