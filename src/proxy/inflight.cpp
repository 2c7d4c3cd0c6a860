#include "proxy/inflight.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "dns/name.hpp"

namespace dnsfence::proxy {

void store_question(Slot& slot, const dns::Message& query) noexcept {
  slot.client_flags = query.header().flags & (dns::flag::RD | dns::flag::CD);
  const auto& edns = query.edns();
  slot.client_udp_size = edns ? std::max(dns::kMinUdpSize, edns->udp_size) : 0;
  slot.client_do = edns && edns->do_bit;
  slot.question_length = 0;
  const auto& q = query.question();
  if (!q) return;
  const dns::Name name = dns::Name::from_packet(query.packet(), q->name);
  dns::Writer w(slot.question);
  w.bytes(name.wire());
  w.u16(q->qtype);
  w.u16(q->qclass);
  slot.question_length = static_cast<std::uint16_t>(w.size());
}

bool same_question(const Slot& slot, const dns::Message& answer) noexcept {
  const auto& q = answer.question();
  if (!q || slot.question_length < 5) return false;
  std::array<std::uint8_t, dns::kMaxNameLength + 4> mine{};
  dns::Writer w(mine);
  w.bytes(dns::Name::from_packet(answer.packet(), q->name).wire());
  w.u16(q->qtype);
  w.u16(q->qclass);
  if (w.size() != slot.question_length) return false;
  auto lower = [](std::uint8_t b) { return b >= 'A' && b <= 'Z' ? static_cast<std::uint8_t>(b + 32) : b; };
  // Label length octets are < 64, so lower-casing them is harmless.
  for (std::size_t i = 0; i < w.size(); ++i)
    if (lower(mine[i]) != lower(slot.question[i])) return false;
  return true;
}

std::size_t build_servfail(const Slot& slot, dns::Transport transport, std::span<std::uint8_t> out) noexcept {
  // Rebuild a minimal query (header + stored question) and answer it like any other query.
  std::array<std::uint8_t, dns::kHeaderSize + dns::kMaxNameLength + 4> query{};
  dns::Writer w(query);
  dns::write_header(w, {slot.client_id, slot.client_flags, 1, 0, 0, 0});
  w.bytes(dns::Bytes(slot.question.data(), slot.question_length));
  auto m = dns::parse(w.written());
  if (!m || slot.question_length == 0) {
    auto n = dns::build_header_only({slot.client_id, slot.client_flags, 0, 0, 0, 0}, dns::Rcode::ServFail, out);
    return n ? *n : 0;
  }
  auto n = dns::build_response(*m, dns::Rcode::ServFail, nullptr, transport, out);
  return n ? *n : 0;
}

bool retry_over_tcp(const Slot& slot, const dns::Message& answer) noexcept {
  return slot.kind == SlotKind::Udp && answer.header().has(dns::flag::TC) && slot.client_udp_size > dns::kMinUdpSize;
}

std::size_t build_retry_query(const Slot& slot, std::span<std::uint8_t> out) noexcept {
  if (slot.question_length == 0) return 0;
  const bool edns = slot.client_udp_size > 0;
  dns::Writer w(out);
  dns::write_header(w, {slot.upstream_id, slot.client_flags, 1, 0, 0, static_cast<std::uint16_t>(edns ? 1 : 0)});
  w.bytes(dns::Bytes(slot.question.data(), slot.question_length));
  if (edns) dns::write_opt(w, slot.client_udp_size, 0, 0, slot.client_do);
  return w.ok() ? w.size() : 0;
}

std::size_t fit_udp_client(const Slot& slot, std::span<std::uint8_t> answer) noexcept {
  const std::size_t limit = std::min<std::size_t>(io::kMaxDatagram, std::max(dns::kMinUdpSize, slot.client_udp_size));
  return dns::truncate_for_udp(answer, limit, slot.client_udp_size > 0);
}

InflightTable::InflightTable(std::uint32_t capacity)
    : capacity_(std::clamp<std::uint32_t>(capacity, 1, 32768)),
      // Raw pages from malloc (large blocks are fresh mmap'd pages): a slot costs resident memory
      // only once it has been used, so an idle worker with max_inflight = 10000 stays small.
      slots_(static_cast<Slot*>(std::malloc(sizeof(Slot) * capacity_))),
      free_(new std::uint32_t[capacity_]),
      by_id_(static_cast<std::uint32_t*>(std::calloc(65536, sizeof(std::uint32_t)))) {
  if (!slots_ || !by_id_) throw std::bad_alloc();
  for (std::uint32_t i = 0; i < capacity_; ++i) free_[i] = capacity_ - 1 - i;
  free_top_ = capacity_;
}

std::optional<std::uint32_t> InflightTable::acquire(std::uint64_t random, std::int64_t now_ns,
                                                    std::int64_t deadline_ns) noexcept {
  if (free_top_ == 0) return std::nullopt;
  // At most half the IDs are taken, so four 16-bit draws almost always find a free one; a linear
  // probe from the last draw guarantees it.
  std::uint16_t id = 0;
  bool found = false;
  for (int i = 0; i < 4 && !found; ++i) {
    id = static_cast<std::uint16_t>(random >> (16 * i));
    found = by_id_[id] == 0;
  }
  while (!found) found = by_id_[++id] == 0;
  const std::uint32_t s = free_[--free_top_];
  Slot& slot = *std::construct_at(&slots_[s]);
  slot.used = true;
  slot.upstream_id = id;
  slot.sent_ns = now_ns;
  slot.deadline_ns = deadline_ns;
  slot.prev = tail_;
  slot.next = kNone;
  if (tail_ != kNone) slots_[tail_].next = s;
  tail_ = s;
  if (head_ == kNone) head_ = s;
  by_id_[id] = s + 1;
  ++used_;
  return s;
}

std::optional<std::uint32_t> InflightTable::find(std::uint16_t id) const noexcept {
  const std::uint32_t v = by_id_[id];
  if (v == 0) return std::nullopt;
  return v - 1;
}

void InflightTable::release(std::uint32_t s) noexcept {
  Slot& slot = slots_[s];
  if (!slot.used) return;
  slot.used = false;
  by_id_[slot.upstream_id] = 0;
  if (slot.prev != kNone)
    slots_[slot.prev].next = slot.next;
  else
    head_ = slot.next;
  if (slot.next != kNone)
    slots_[slot.next].prev = slot.prev;
  else
    tail_ = slot.prev;
  free_[free_top_++] = s;
  --used_;
}

std::optional<std::uint32_t> InflightTable::expired(std::int64_t now_ns) const noexcept {
  if (head_ == kNone || slots_[head_].deadline_ns > now_ns) return std::nullopt;
  return head_;
}

}  // namespace dnsfence::proxy
