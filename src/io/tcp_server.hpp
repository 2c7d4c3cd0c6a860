#pragma once
// DNS over TCP, the transport half (RFC 7766), shared by `serve` and the witness as Unbound's
// comm_point is shared by its listeners: listeners and client connections in one event loop,
// with one set of limits; what a message means is the TcpHandler's business. The only DNS it
// knows is the 2-octet framing (io/frame).
//
// Limits, per server (one per event loop):
// - max_connections open at once; at the cap the listeners pause (connections wait in the
//   kernel's backlog) instead of accepting and closing; max_per_client per client address
//   (through a ClientLimit shared by the process): beyond it a connection is closed at once;
// - max_pending messages handed to the handler and not yet answered per connection: reading
//   stops until answers leave, so one connection holds a bounded share of what lies behind;
// - answers queued for a client that does not read: reading stops as soon as the socket refuses
//   data; beyond max_queued octets the connection is closed, and one whose queued answers make no
//   progress for the idle time is closed too;
// - idle time since the last complete message or written answer (partial bytes do not count: a
//   trickle does not keep a connection alive), shortened as the server fills up (at over 50, 65
//   and 80 % of max_connections: 1/100, 1/500 of it, then none, never under 200 ms, as Unbound
//   does); and a total lifetime;
// - accept() failing for lack of descriptors (EMFILE, ENFILE) or memory pauses the listeners for
//   a while instead of spinning on a listener that stays readable; meanwhile the server counts as
//   full, so idle connections are closed early.
// A peer that half-closes leaves the loop's read interest at once (its pending answers are still
// written); a reset or failed connection is closed at once.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "io/client_limit.hpp"
#include "io/frame.hpp"
#include "io/poller.hpp"
#include "io/socket.hpp"

namespace dnsfence::io {

struct TcpLimits {
  std::uint32_t max_connections = 1000;
  std::uint32_t max_pending = 100;        // like Knot Resolver's tcp_pipeline and dnsdist's maxInFlight
  std::size_t max_queued = 65536;         // octets of answers waiting for the client; beyond: closed
  std::int64_t idle_ns = 10'000'000'000;  // before pressure shortens it
  std::int64_t lifetime_ns = 60'000'000'000;
  std::int64_t accept_pause_ns = 500'000'000;  // after EMFILE/ENFILE/ENOBUFS/ENOMEM on accept
};

/// Why a connection closed. Closed list, used as a metric label.
enum class TcpClose : std::uint8_t {
  Eof,       // the client closed and every answer was written
  Reset,     // reset or failed (read/write error, or memory ran out)
  Idle,      // no message for the (possibly shortened) idle time
  Lifetime,  // open longer than the total lifetime
  Stalled,   // answers waiting and the client read none of them for the idle time
  Overflow,  // more than max_queued octets of answers waiting
  Shutdown,  // the server was destroyed
};
inline constexpr std::size_t kTcpCloseReasons = 7;
/// "eof", "reset", "idle", "lifetime", "stalled", "overflow", "shutdown".
std::string_view close_reason_name(TcpClose r) noexcept;

/// Why the listeners stopped accepting for a while.
enum class TcpPause : std::uint8_t { Full, NoDescriptors };

/// A connection as the layer above names it; stale once the connection closed.
struct TcpConnRef {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
};

/// What a connection is, for the handler.
struct TcpConnInfo {
  common::SocketAddress peer;
  std::optional<common::SocketAddress> local;  // listeners opened with want_local (tproxy): where the client connected
  std::uint8_t listener = 0;
};

/// The layer above: query processing, and counters.
class TcpHandler {
 public:
  virtual ~TcpHandler() = default;
  /// A complete message; `message` lives until the call returns. Each message must be finished
  /// exactly once, by TcpServer::reply() or TcpServer::finish(), now or later; until then it
  /// counts against max_pending (a connection that closes first drops it).
  virtual void on_message(TcpConnRef conn, const TcpConnInfo& info, std::span<std::uint8_t> message) noexcept = 0;
  virtual void on_closed(TcpClose /*reason*/) noexcept {}
  /// A connection over max_per_client, closed at once.
  virtual void on_refused() noexcept {}
  virtual void on_paused(TcpPause /*why*/) noexcept {}
  /// Open connections after each change.
  virtual void on_open(std::uint32_t /*connections*/) noexcept {}
};

class TcpServer {
 public:
  /// Events of its listeners are tagged (listener_kind, index), of its connections
  /// (connection_kind, index); the owner's loop hands them to on_listener() and on_connection().
  /// `clients` (shared, may be null) enforces the per-address cap.
  TcpServer(Poller& poller, TcpHandler& handler, const TcpLimits& limits, std::uint8_t listener_kind,
            std::uint8_t connection_kind, ClientLimit* clients = nullptr);
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;
  ~TcpServer();

  /// Takes a listening socket; `want_local`: record each connection's local address (a
  /// transparent listener's connections keep the address the client asked). Returns its index.
  /// Control plane: may throw std::bad_alloc.
  std::uint8_t add_listener(Fd fd, bool want_local);
  /// The time (monotonic ns) the next events happen at; the owner sets it once per loop turn.
  void set_now(std::int64_t now_ns) noexcept { now_ = now_ns; }
  /// A listener is readable: accepts what is waiting (bounded per call).
  void on_listener(std::uint32_t index) noexcept;
  /// Readiness of a connection.
  void on_connection(std::uint32_t index, std::uint32_t events) noexcept;
  /// Answers one message of `conn` (if it is still open). False if it is gone.
  bool reply(TcpConnRef conn, std::span<const std::uint8_t> message) noexcept;
  /// Finishes one message of `conn` without an answer.
  void finish(TcpConnRef conn) noexcept;
  /// Hands over messages that were read before reading stopped and may now be taken (answers
  /// made room). Call once per loop turn, after the events.
  void run_deferred() noexcept;
  /// Closes connections past their timeouts; resumes paused listeners. Call every ~100 ms.
  void tick(std::int64_t now_ns) noexcept;

  /// The info of an open connection (nullptr if it is gone).
  [[nodiscard]] const TcpConnInfo* info(TcpConnRef conn) const noexcept;
  [[nodiscard]] std::uint32_t open() const noexcept { return open_; }
  /// The idle time in force now (shortened under pressure).
  [[nodiscard]] std::int64_t idle_ns() const noexcept;
  [[nodiscard]] bool paused() const noexcept { return paused_; }

 private:
  struct Conn;
  [[nodiscard]] Conn* live(TcpConnRef ref) noexcept;
  void accept_one(std::uint8_t listener, Fd fd, const common::SocketAddress& peer) noexcept;
  void on_readable(std::uint32_t index) noexcept;
  bool read_more(std::uint32_t index) noexcept;
  void deliver(std::uint32_t index, std::span<std::uint8_t> data) noexcept;
  void room_freed(std::uint32_t index) noexcept;
  void after_write(std::uint32_t index, IoStatus status) noexcept;
  void done_if_finished(std::uint32_t index) noexcept;
  [[nodiscard]] bool can_take(const Conn& c) const noexcept;
  void update_events(std::uint32_t index) noexcept;
  void close(std::uint32_t index, TcpClose reason) noexcept;
  void pause(TcpPause why) noexcept;
  void resume_listeners() noexcept;

  struct Listener {
    Fd fd;
    bool want_local = false;
  };

  Poller& poller_;
  TcpHandler& handler_;
  TcpLimits limits_;
  std::uint8_t listener_kind_;
  std::uint8_t connection_kind_;
  ClientLimit* clients_;
  std::vector<Listener> listeners_;
  std::vector<Conn> conns_;
  std::vector<std::uint32_t> free_;
  std::uint32_t open_ = 0;
  std::int64_t now_ = 0;
  bool paused_ = false;
  std::int64_t pause_until_ = 0;         // NoDescriptors: accept again after this; 0: paused because full
  std::vector<std::uint32_t> deferred_;  // connections with kept messages that may now be taken
  std::vector<std::uint8_t> scratch_;
};

}  // namespace dnsfence::io
