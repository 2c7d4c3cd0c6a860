#pragma once
// An event-driven HTTP/1.1 server: one listening socket, one thread, one epoll loop, every client
// served concurrently, so a slow or idle client never delays another. What one client may hold is
// bounded (Unbound's and dnsdist's lesson for every public listener):
//   - connections: max_connections in all, max_connections_per_client per address; at the cap, the
//     connection that has waited longest for a request (keep-alive first, then slow heads) is
//     closed to make room, and only if none can be, the new one is refused;
//   - bytes: the parser's limits on request line, head, header count and body (http_parser.hpp);
//   - time, per phase, never restarted by a trickle of bytes: the head must arrive within
//     header_timeout of the connection (or of the first byte of a later request), the body within
//     body_timeout of the head, the handler must answer within handler_timeout (else 503), the
//     response must be taken within write_timeout, and a keep-alive connection may wait
//     idle_timeout for its next request;
//   - requests: at most max_requests_per_connection on one connection (keep-alive).
// Descriptors exhausted (EMFILE) pause accepting for a moment instead of spinning.
//
// Handlers may answer later and from any thread (a store that talks to Redis): they get a Reply,
// a one-shot completion the loop picks up through an eventfd.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "common/net.hpp"
#include "io/http.hpp"
#include "io/http_parser.hpp"
#include "io/socket.hpp"

namespace dnsfence::io::http {

struct ServerLimits {
  ParserLimits parser;
  std::size_t max_connections = 256;
  std::size_t max_connections_per_client = 16;
  std::size_t max_requests_per_connection = 100;
  std::chrono::milliseconds header_timeout{5000};
  std::chrono::milliseconds body_timeout{5000};
  std::chrono::milliseconds idle_timeout{5000};
  std::chrono::milliseconds handler_timeout{10000};
  std::chrono::milliseconds write_timeout{5000};
};

/// What the server did, for metrics; updated by the server's thread, read from any.
struct ServerStats {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};    // closed at once: the client's cap, or nothing to evict
  std::atomic<std::uint64_t> evicted{0};    // waiting connections closed to make room
  std::atomic<std::uint64_t> timed_out{0};  // a phase deadline passed
  std::atomic<std::uint64_t> bad_requests{0};
  std::atomic<std::uint64_t> requests{0};  // handed to the handler
  std::atomic<std::int64_t> open{0};
};

/// The answer to one request. Copyable; the first call sends, later calls do nothing. Callable
/// from any thread, also after the connection is gone or the server stopped (then nothing is sent).
class Reply {
 public:
  struct Mailbox;
  Reply(std::shared_ptr<Mailbox> mailbox, std::uint64_t connection);
  void operator()(Response response) const;

 private:
  std::shared_ptr<Mailbox> mailbox_;
  std::uint64_t connection_ = 0;
  std::shared_ptr<std::atomic<bool>> sent_;
};

/// Called on the server's thread for each complete request; answers through `reply`, now or later.
using Handler = std::function<void(const Request&, Reply)>;
/// A Handler that answers at once with `f`'s response; an exception from `f` becomes a 500.
Handler synchronous(std::function<Response(const Request&)> f);

class Server {
 public:
  /// Binds and listens on `address` now (before privileges are dropped; port 0: any free port).
  /// Throws std::runtime_error naming the address.
  Server(const common::SocketAddress& address, Handler handler, ServerLimits limits = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const ServerStats& stats() const noexcept { return *stats_; }
  /// Serves on a thread of its own until stop(). Connections queue in the backlog before.
  void start();
  /// Stops serving, closes every connection, joins; idempotent.
  void stop();

 private:
  struct Loop;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<ServerStats> stats_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace dnsfence::io::http
