#pragma once
// A worker's TCP connections to upstreams (and to pass-through resolvers), the RFC 7766 way:
// a few connections per server, each carrying many queries at once whose answers may come in any
// order (the worker matches them by ID and question), reused until idle, instead of a connection
// per query. A new connection is opened only when those to the server each carry kPerConnection
// queries, up to kPerTarget per server and kMaxConnections in all; beyond that the least loaded
// one takes the query (the in-flight table and the per-client-connection cap bound the total).
// A query is refused (the worker answers SERVFAIL, or relays a truncated answer) only when no
// connection to its server exists or can be opened. When a server closes a connection
// that still owes answers, each of those queries is sent once more on another connection
// (RFC 7766 6.2.1). Buffers hold only what is in transit and shrink back (io/frame).

#include <cstdint>
#include <span>
#include <vector>

#include "common/net.hpp"
#include "io/frame.hpp"
#include "io/poller.hpp"
#include "io/socket.hpp"
#include "proxy/inflight.hpp"

namespace dnsfence::proxy {

/// What the streams need from the worker.
class StreamOwner {
 public:
  virtual ~StreamOwner() = default;
  /// A complete message read from connection `conn`; the owner matches it to a slot (the slot's
  /// tcp_upstream must be `conn`) and calls UpstreamStreams::forget() when it releases the slot.
  virtual void on_stream_answer(std::uint32_t conn, std::span<std::uint8_t> answer) noexcept = 0;
  /// The slot's connection closed before it was answered and it could not be sent again: it
  /// keeps waiting for its deadline (already forgotten by the streams).
  virtual void on_stream_lost(std::uint32_t /*slot*/) noexcept {}
};

class UpstreamStreams {
 public:
  static constexpr std::uint32_t kPerTarget = 4;
  static constexpr std::uint32_t kPerConnection =
      100;  // before another is opened (Unbound's max-reuse-tcp-queries: 200)
  static constexpr std::uint32_t kMaxConnections = 64;
  static constexpr std::int64_t kIdleNs = 5'000'000'000;  // under the idle timeouts of common resolvers (10 s+)

  /// Control plane: may throw std::bad_alloc.
  UpstreamStreams(io::Poller& poller, std::uint8_t kind, InflightTable& table, StreamOwner& owner);
  UpstreamStreams(const UpstreamStreams&) = delete;
  UpstreamStreams& operator=(const UpstreamStreams&) = delete;

  /// Sends `query` (its ID already the slot's upstream ID) to `target` (the slot's server) on a
  /// connection with room, opening one if allowed. False when none can take it.
  bool send(std::uint32_t slot, const common::SocketAddress& target, std::span<const std::uint8_t> query,
            std::int64_t now_ns) noexcept;
  /// The slot no longer waits on its connection (answered, expired, released).
  void forget(std::uint32_t slot) noexcept;
  /// Readiness of connection `index`.
  void on_event(std::uint32_t index, std::uint32_t events, std::int64_t now_ns) noexcept;
  /// Closes connections idle for kIdleNs.
  void tick(std::int64_t now_ns) noexcept;
  /// Connections open now (descriptors).
  [[nodiscard]] std::uint32_t open() const noexcept { return open_; }
  /// Queries waiting on connection `index` (tests).
  [[nodiscard]] std::size_t outstanding(std::uint32_t index) const noexcept {
    return index < conns_.size() ? conns_[index].slots.size() : 0;
  }

 private:
  struct Conn {
    io::Fd fd;
    common::SocketAddress target;
    io::StreamIn in;
    io::StreamOut out;
    std::vector<std::uint32_t> slots;  // queries sent or queued and not yet answered
    std::int64_t last_used_ns = 0;
    std::uint32_t events = 0;
    bool connected = false;
  };
  std::int64_t pick(const common::SocketAddress& target, bool any) noexcept;  // -1: none
  std::int64_t connect(const common::SocketAddress& target, std::int64_t now_ns) noexcept;
  void read_answers(std::uint32_t index) noexcept;
  void set_events(std::uint32_t index, std::uint32_t events) noexcept;
  void fail(std::uint32_t index, std::int64_t now_ns) noexcept;
  void close(std::uint32_t index) noexcept;

  io::Poller& poller_;
  std::uint8_t kind_;
  InflightTable& table_;
  StreamOwner& owner_;
  std::vector<Conn> conns_;
  std::vector<std::uint32_t> free_;
  std::uint32_t open_ = 0;
  std::vector<std::uint8_t> scratch_;  // allocated at the first answer read
};

}  // namespace dnsfence::proxy
