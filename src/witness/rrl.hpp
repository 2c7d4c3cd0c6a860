#pragma once
// Response rate limiting on the witness's UDP answers, per source prefix, as Knot DNS and NSD do
// for public authorities: a spoofed flood cannot turn the witness into an amplifier aimed at a
// victim, because each source prefix gets at most `rate` answers a second. Past the limit, every
// `slip`-th answer is sent truncated (TC=1, question only: a real resolver retries over TCP, which
// is not limited, so honest clients behind a big resolver still get through) and the others are
// dropped. A leak test sends a few dozen queries per run: far below any sensible rate.
//
// O(1) per answer, no allocation: a fixed table of buckets indexed by a hash of the prefix (two
// prefixes that collide share a bucket, as in Knot). One instance per thread (no locking).

#include <cstdint>
#include <span>
#include <vector>

#include "common/net.hpp"

namespace dnsfence::witness {

struct RrlConfig {
  std::uint32_t rate = 0;  // answers per second per prefix; 0: off
  std::uint32_t slip = 2;  // 0: drop every limited answer; 1: truncate every one; N: every Nth
  unsigned v4_prefix = 24;
  unsigned v6_prefix = 56;
  std::size_t table_size = 16384;
  std::vector<common::Prefix> exempt;  // sources never limited (the operator's own resolvers)
};

enum class RrlAction : std::uint8_t {
  Send,  // within the rate
  Slip,  // over it: send a truncated answer instead
  Drop,  // over it: send nothing
};

class ResponseRateLimiter {
 public:
  explicit ResponseRateLimiter(RrlConfig config);

  /// What to do with one answer to `source` at `now_ms` (any monotonic milliseconds).
  RrlAction check(const common::IpAddress& source, std::uint64_t now_ms) noexcept;
  [[nodiscard]] bool enabled() const noexcept { return config_.rate > 0; }

 private:
  struct Bucket {
    std::uint64_t tag = 0;
    std::uint64_t milli_tokens = 0;  // 1000 per answer allowed
    std::uint64_t updated_ms = 0;
    std::uint32_t limited = 0;  // answers over the rate since the bucket last had tokens
  };

  RrlConfig config_;
  std::vector<Bucket> table_;
};

/// Rewrites the DNS reply in `reply[0, size)` into a truncated one: TC set, only the question kept
/// (no answer, authority or additional records). Returns its new size (`size` if it is no reply).
std::size_t truncate_reply(std::span<std::uint8_t> reply, std::size_t size) noexcept;

}  // namespace dnsfence::witness
