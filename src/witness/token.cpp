#include "witness/token.hpp"

#include <gcrypt.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "common/hex.hpp"

namespace dnsfence::witness {
namespace {

constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t kBodyBytes = 15;  // run 8 + probe 2 + expires 4 + key id 1
constexpr std::size_t kMacBytes = kTokenBytes - kBodyBytes;
constexpr std::string_view kDomain = "dnsfence-witness-token-v2";
constexpr std::string_view kKeyIdDomain = "dnsfence-witness-key-id";
constexpr std::string_view kRunDomain = "dnsfence-witness-run-v1";

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

// Per thread, the HMAC states of the last few keys it used, each prepared once (the key's inner
// and outer pads hashed) and reset before every use: setting the key up per query cost the
// witness ~30 % more CPU per answer than knotd.
class MacCache {
 public:
  MacCache() = default;
  MacCache(const MacCache&) = delete;
  MacCache& operator=(const MacCache&) = delete;
  ~MacCache() {
    for (auto& s : slots_)
      if (s.handle != nullptr) gcry_mac_close(s.handle);
  }
  // The prepared state for `key`, reset; nullptr if libgcrypt fails.
  gcry_mac_hd_t get(const Key& key) noexcept {
    for (auto& s : slots_) {
      if (s.handle != nullptr && s.serial == key.serial()) return gcry_mac_reset(s.handle) == 0 ? s.handle : nullptr;
    }
    Slot& s = slots_[next_++ % slots_.size()];
    if (s.handle != nullptr) gcry_mac_close(s.handle);
    s = Slot{};
    const auto k = key.bytes();
    if (!gcrypt_ready() || gcry_mac_open(&s.handle, GCRY_MAC_HMAC_SHA256, 0, nullptr) != 0) return nullptr;
    if (gcry_mac_setkey(s.handle, k.data(), k.size()) != 0) {
      gcry_mac_close(s.handle);
      s.handle = nullptr;
      return nullptr;
    }
    s.serial = key.serial();
    return s.handle;
  }

 private:
  struct Slot {
    std::uint64_t serial = 0;
    gcry_mac_hd_t handle = nullptr;
  };
  std::array<Slot, 4> slots_{};
  std::size_t next_ = 0;
};

// HMAC-SHA256(key, domain || data), all 32 octets into `out`. False if libgcrypt fails.
bool hmac(const Key& key, std::string_view domain, std::span<const std::uint8_t> data,
          std::array<std::uint8_t, 32>& out) noexcept {
  thread_local MacCache cache;
  gcry_mac_hd_t h = cache.get(key);
  std::size_t length = out.size();
  return h != nullptr && gcry_mac_write(h, domain.data(), domain.size()) == 0 &&
         gcry_mac_write(h, data.data(), data.size()) == 0 && gcry_mac_read(h, out.data(), &length) == 0 &&
         length == out.size();
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

std::array<std::uint8_t, 32> run_hash(const RunKey& key) noexcept {
  std::array<std::uint8_t, kRunDomain.size() + 16> input{};
  std::memcpy(input.data(), kRunDomain.data(), kRunDomain.size());
  std::memcpy(input.data() + kRunDomain.size(), key.bytes.data(), key.bytes.size());
  std::array<std::uint8_t, 32> out{};
  if (gcrypt_ready()) gcry_md_hash_buffer(GCRY_MD_SHA256, out.data(), input.data(), input.size());
  return out;
}

template <std::size_t N>
bool parse_hex_exact(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = common::hex_value(text[2 * i]);
    const int lo = common::hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

void put32(std::uint8_t* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

std::uint32_t get32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

std::string RunId::to_text() const {
  return common::to_hex(bytes, 0);
}

std::expected<RunId, std::string_view> RunId::from_text(std::string_view text) noexcept {
  RunId id;
  if (!parse_hex_exact(text, id.bytes)) return std::unexpected("a run id is 16 hex digits");
  return id;
}

std::size_t RunIdHash::operator()(const RunId& id) const noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, id.bytes.data(), sizeof v);  // a hash output: already uniform
  return static_cast<std::size_t>(v);
}

std::string RunKey::to_text() const {
  return common::to_hex(bytes, 0);
}

std::expected<RunKey, std::string_view> RunKey::from_text(std::string_view text) noexcept {
  RunKey key;
  if (!parse_hex_exact(text, key.bytes)) return std::unexpected("a run is named by 32 hex digits");
  return key;
}

RunKey RunKey::random() {
  RunKey key;
  random_bytes(key.bytes.data(), key.bytes.size());
  return key;
}

RunId RunKey::id() const noexcept {
  const auto h = run_hash(*this);
  RunId id;
  std::memcpy(id.bytes.data(), h.data(), id.bytes.size());
  return id;
}

std::array<std::uint8_t, 16> RunKey::check() const noexcept {
  const auto h = run_hash(*this);
  std::array<std::uint8_t, 16> out{};
  std::memcpy(out.data(), h.data() + 8, out.size());
  return out;
}

Key::Key(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {
  static std::atomic<std::uint64_t> serials{0};
  if (bytes_.size() < kMinKeyBytes)
    throw std::invalid_argument("witness key too short: need at least " + std::to_string(kMinKeyBytes) + " octets");
  serial_ = ++serials;
  std::array<std::uint8_t, 32> id{};
  if (!hmac(*this, kKeyIdDomain, {}, id)) throw std::runtime_error("HMAC-SHA256 failed");
  id_ = id[0];
}

Key Key::random() {
  std::vector<std::uint8_t> bytes(32);
  random_bytes(bytes.data(), bytes.size());
  return Key(std::move(bytes));
}

Keyring::Keyring(Key minting, std::vector<Key> also_accepted) {
  keys_.push_back(std::move(minting));
  for (auto& k : also_accepted) keys_.push_back(std::move(k));
}

const Key* Keyring::find(std::uint8_t id) const noexcept {
  for (const Key& k : keys_)
    if (k.id() == id) return &k;
  return nullptr;
}

std::string encode_token(const Keyring& keys, const Token& token) {
  return encode_token(keys.minting(), token);
}

std::string encode_token(const Key& key, const Token& token) {
  Raw raw{};
  std::memcpy(raw.data(), token.run.bytes.data(), 8);
  raw[8] = static_cast<std::uint8_t>(token.probe >> 8);
  raw[9] = static_cast<std::uint8_t>(token.probe);
  put32(raw.data() + 10, token.expires);
  raw[14] = key.id();
  std::array<std::uint8_t, 32> m{};
  if (!hmac(key, kDomain, std::span(raw.data(), kBodyBytes), m)) throw std::runtime_error("HMAC-SHA256 failed");
  std::memcpy(raw.data() + kBodyBytes, m.data(), kMacBytes);
  std::string out;
  out.reserve(kTokenChars);
  // 25 octets = 200 bits = 40 groups of 5 bits: no padding.
  for (std::size_t bit = 0; bit < kTokenBytes * 8; bit += 5) {
    unsigned v = 0;
    for (std::size_t i = 0; i < 5; ++i) v = (v << 1) | ((raw[(bit + i) / 8] >> (7 - (bit + i) % 8)) & 1U);
    out += kAlphabet[v];
  }
  return out;
}

std::expected<Token, TokenError> verify_token(const Keyring& keys, std::span<const std::uint8_t> label) noexcept {
  if (label.size() != kTokenChars) return std::unexpected(TokenError::BadLength);
  // 40 groups of 5 bits = 25 octets exactly. Octets leave the accumulator as soon as they are
  // whole: setting the 200 bits one at a time was ~7 % of the witness's CPU per answer.
  Raw raw{};
  std::uint32_t acc = 0;
  unsigned bits = 0;
  std::size_t at = 0;
  for (const std::uint8_t c : label) {
    const int v = base32_value(c);
    if (v < 0) return std::unexpected(TokenError::BadAlphabet);
    acc = (acc << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      raw[at++] = static_cast<std::uint8_t>(acc >> bits);
    }
  }
  bool authentic = false;
  for (const Key& key : keys.keys()) {
    std::array<std::uint8_t, 32> expected{};
    // Only the key the token names is tried (two keys share an id once in 256 rotations).
    if (key.id() != raw[14] || !hmac(key, kDomain, std::span(raw.data(), kBodyBytes), expected)) continue;
    if (same_mac(expected.data(), raw.data() + kBodyBytes)) {
      authentic = true;
      break;
    }
  }
  if (!authentic) return std::unexpected(TokenError::BadMac);
  Token t;
  std::memcpy(t.run.bytes.data(), raw.data(), 8);
  t.probe = static_cast<std::uint16_t>((raw[8] << 8) | raw[9]);
  t.expires = get32(raw.data() + 10);
  return t;
}

bool token_live(const Token& token, std::chrono::system_clock::time_point now, std::chrono::seconds max_ttl,
                std::chrono::seconds skew) noexcept {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto expires = static_cast<std::int64_t>(token.expires);
  return expires > secs && expires <= secs + max_ttl.count() + skew.count();
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
