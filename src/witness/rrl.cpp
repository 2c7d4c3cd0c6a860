#include "witness/rrl.hpp"

#include <algorithm>

#include "dns/types.hpp"
#include "witness/rate_limit.hpp"

namespace dnsfence::witness {
namespace {

std::uint64_t prefix_hash(const common::Prefix& p) noexcept {
  std::uint64_t h = 1469598103934665603ULL ^ p.length();  // FNV-1a
  for (std::size_t i = 0; i < p.network().size(); ++i) h = (h ^ p.network().bytes()[i]) * 1099511628211ULL;
  return h | 1;  // never 0: 0 marks an unused bucket
}

}  // namespace

ResponseRateLimiter::ResponseRateLimiter(RrlConfig config)
    : config_(std::move(config)), table_(config_.rate > 0 ? std::max<std::size_t>(config_.table_size, 1) : 0) {}

RrlAction ResponseRateLimiter::check(const common::IpAddress& source, std::uint64_t now_ms) noexcept {
  if (config_.rate == 0) return RrlAction::Send;
  for (const auto& p : config_.exempt)
    if (p.contains(source)) return RrlAction::Send;
  const std::uint64_t tag = prefix_hash(client_prefix(source, config_.v4_prefix, config_.v6_prefix));
  Bucket& b = table_[tag % table_.size()];
  const std::uint64_t full = std::uint64_t{config_.rate} * 1000;  // one second's worth
  if (b.tag != tag) {
    // Another prefix held this bucket. Once it has refilled, it is as good as fresh: take it over;
    // while it is still draining, share it (a collision, as in Knot).
    const std::uint64_t refilled = b.milli_tokens + (now_ms - std::min(now_ms, b.updated_ms)) * config_.rate;
    if (b.tag == 0 || refilled >= full) b = Bucket{tag, full, now_ms, 0};
  }
  if (now_ms > b.updated_ms) {
    b.milli_tokens = std::min(full, b.milli_tokens + (now_ms - b.updated_ms) * config_.rate);
    b.updated_ms = now_ms;
  }
  if (b.milli_tokens >= 1000) {
    b.milli_tokens -= 1000;
    b.limited = 0;
    return RrlAction::Send;
  }
  ++b.limited;
  return config_.slip != 0 && b.limited % config_.slip == 0 ? RrlAction::Slip : RrlAction::Drop;
}

std::size_t truncate_reply(std::span<std::uint8_t> reply, std::size_t size) noexcept {
  if (size < dns::kHeaderSize || size > reply.size()) return size;
  std::size_t end = dns::kHeaderSize;
  const bool has_question = reply[4] == 0 && reply[5] == 1;
  if (has_question) {
    // The question's name follows the header uncompressed (a pointer may not point backwards into
    // the header); then type and class.
    while (end < size && reply[end] != 0 && reply[end] < 64) end += 1 + reply[end];
    end += 1 + 4;
    if (end > size) return size;
  }
  reply[2] = static_cast<std::uint8_t>(reply[2] | 0x02);            // TC
  for (std::size_t i = 6; i < dns::kHeaderSize; ++i) reply[i] = 0;  // no AN, NS, AR records
  if (!has_question) reply[4] = reply[5] = 0;
  return end;
}

}  // namespace dnsfence::witness
