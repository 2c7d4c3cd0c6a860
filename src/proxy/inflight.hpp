#pragma once
// The worker's table of queries sent upstream and not yet answered: a fixed array of slots
// allocated once, a free list, a map from the 16-bit upstream query ID to the slot, and a FIFO of
// deadlines (every query has the same timeout, so insertion order is deadline order). Nothing is
// allocated per query; memory is max_inflight * sizeof(Slot) + 256 KiB, whatever the load.

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/net.hpp"
#include "dns/message.hpp"
#include "dns/response.hpp"
#include "io/udp_batch.hpp"

namespace dnsfence::proxy {

/// Who is waiting for an answer. UdpOverTcp: a UDP client's query sent again over TCP because
/// the upstream's UDP answer was truncated (same slot, same upstream ID, same deadline).
enum class SlotKind : std::uint8_t { Udp, Tcp, Probe, UdpOverTcp };

// Ordered by alignment, so that no padding is wasted 10,000 times over.
struct Slot {
  std::int64_t sent_ns = 0;
  std::int64_t deadline_ns = 0;
  common::SocketAddress client;  // Udp: where the answer goes
  // Tproxy mode: the destination the client asked. A Udp answer leaves from it; a pass-through
  // query (upstream == kPassUpstream) went to it. Any other query went to the pool's upstream
  // `upstream` (its index is stable while the query is in flight): no third address is stored.
  common::SocketAddress original;
  std::uint16_t question_length = 0;
  std::uint16_t client_flags = 0;     // RD and CD, echoed in a SERVFAIL
  std::uint16_t client_udp_size = 0;  // the client's EDNS payload size (at least 512); 0: no EDNS
  std::uint32_t tcp_connection = 0;   // Tcp: the client's connection (io::TcpConnRef)
  std::uint32_t tcp_generation = 0;
  std::uint32_t tcp_upstream = 0;  // Tcp, UdpOverTcp: the upstream connection carrying it (UpstreamStreams)
  std::uint32_t prev = 0;          // deadline FIFO links (kNone: end)
  std::uint32_t next = 0;
  std::uint16_t client_id = 0;
  std::uint16_t upstream_id = 0;
  std::uint16_t socket = 0;  // which upstream UDP socket it left from (UpstreamSockets)
  std::array<std::uint8_t, dns::kMaxNameLength + 4> question{};  // name (uncompressed), type, class
  std::uint8_t upstream = 0;     // index in the pool, kPassUpstream for a pass-through query
  std::uint8_t listener = 0;     // Udp: which listener it arrived on
  std::uint8_t destination = 0;  // policy::DestinationClass, for metrics
  SlotKind kind = SlotKind::Udp;
  bool has_original = false;
  bool client_do = false;      // the client's EDNS DO bit, for a query sent again over TCP
  bool on_udp_socket = false;  // counted on `socket` until answered or expired
  bool on_stream = false;      // waiting on upstream connection `tcp_upstream`
  bool resent = false;         // already sent again after its upstream connection closed
  bool used = false;
};
// 10,000 slots per worker must stay well inside the 12 MiB budget (tests/e2e/serve/inflight_rss.sh).
static_assert(sizeof(Slot) <= 376, "a Slot grew: check the in-flight memory budget");

inline constexpr std::uint8_t kPassUpstream = 0xff;

/// Copies the query's question (and RD/CD) into the slot.
void store_question(Slot& slot, const dns::Message& query) noexcept;
/// True if the answer's question equals the stored one (the name ignoring ASCII case).
bool same_question(const Slot& slot, const dns::Message& answer) noexcept;
/// Builds SERVFAIL for the stored question with the client's ID; returns its size (0: failed).
std::size_t build_servfail(const Slot& slot, dns::Transport transport, std::span<std::uint8_t> out) noexcept;

/// True when a UDP client's query should be sent again over TCP: the upstream's UDP answer is
/// truncated and the client can take more than 512 octets. (A client without EDNS could not take
/// the full answer anyway: it gets the upstream's truncated answer and retries over TCP itself.)
bool retry_over_tcp(const Slot& slot, const dns::Message& answer) noexcept;
/// The query to send again over TCP: the stored question with the client's RD and CD, its EDNS
/// size and DO bit when it used EDNS, and the slot's upstream ID. Returns its size (0: failed).
std::size_t build_retry_query(const Slot& slot, std::span<std::uint8_t> out) noexcept;
/// Fits a complete answer (from TCP) to the slot's UDP client: unchanged when it fits 512 octets
/// or the client's EDNS size (at most io::kMaxDatagram); otherwise cut in place to header,
/// question and OPT with TC set, so the client retries over TCP. Returns the size to send (0: the
/// answer does not parse).
std::size_t fit_udp_client(const Slot& slot, std::span<std::uint8_t> answer) noexcept;

class InflightTable {
 public:
  static constexpr std::uint32_t kNone = 0xffffffff;
  /// `capacity` slots, at most 32768 (half the ID space, so a random free ID is found fast).
  explicit InflightTable(std::uint32_t capacity);

  /// Takes a free slot with a fresh random upstream ID; nullopt when full. `random` is a 64-bit
  /// value from the worker's generator.
  std::optional<std::uint32_t> acquire(std::uint64_t random, std::int64_t now_ns, std::int64_t deadline_ns) noexcept;
  /// The slot waiting for upstream ID `id`, if any.
  [[nodiscard]] std::optional<std::uint32_t> find(std::uint16_t id) const noexcept;
  /// Returns a slot to the free list.
  void release(std::uint32_t slot) noexcept;
  /// The oldest slot whose deadline has passed, if any (call release() on it after handling).
  [[nodiscard]] std::optional<std::uint32_t> expired(std::int64_t now_ns) const noexcept;

  Slot& operator[](std::uint32_t i) noexcept { return slots_[i]; }
  [[nodiscard]] std::uint32_t size() const noexcept { return used_; }
  [[nodiscard]] std::uint32_t capacity() const noexcept { return capacity_; }

 private:
  std::uint32_t capacity_;
  std::uint32_t used_ = 0;
  struct Free {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<Slot[], Free> slots_;
  std::unique_ptr<std::uint32_t[]> free_;  // stack of free slot indices
  std::uint32_t free_top_ = 0;
  std::unique_ptr<std::uint32_t[], Free> by_id_;  // 65536 entries: slot + 1, 0 = none
  std::uint32_t head_ = kNone;                    // oldest
  std::uint32_t tail_ = kNone;                    // newest
};

}  // namespace dnsfence::proxy
