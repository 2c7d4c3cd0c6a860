#pragma once
// The worker's DNS-over-TCP side (RFC 7766): client connections with pipelined queries answered
// in whatever order the answers come, idle and total timeouts and a connection cap; and one
// short TCP connection to the upstream per forwarded TCP query (a TCP client's answer may exceed
// any UDP size). Connection buffers are allocated when a connection slot is first used and then
// reused; nothing is allocated per query.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/net.hpp"
#include "io/socket.hpp"

namespace dnsfence::proxy {

class Worker;

class TcpServer {
 public:
  /// At most `max_connections` client connections at once; more are accepted and closed at once.
  TcpServer(Worker& worker, std::uint32_t max_connections);

  /// Accepts every pending connection on a listener.
  void accept(std::uint8_t listener) noexcept;
  /// Readiness of a client connection.
  void on_client(std::uint32_t index, std::uint32_t events) noexcept;
  /// Readiness of an upstream connection.
  void on_upstream(std::uint32_t index, std::uint32_t events) noexcept;
  /// Queues an answer for a client connection, if it is still the same connection.
  void reply(std::uint32_t index, std::uint32_t generation, std::span<const std::uint8_t> answer) noexcept;
  /// A TCP query's deadline passed: SERVFAIL to its client, close its upstream connection.
  void timed_out(std::uint32_t slot) noexcept;
  /// Sends a UDP client's query again over TCP to the server its slot names, after a truncated
  /// answer; the slot becomes SlotKind::UdpOverTcp. False if no connection could be started.
  bool retry(std::uint32_t slot) noexcept;
  /// Closes the upstream connection carrying a slot's query, if it is still open.
  void close_upstream_of(std::uint32_t slot) noexcept;
  /// Closes connections past their idle or total timeout.
  void tick(std::int64_t now) noexcept;

 private:
  struct Client {
    io::Fd fd;
    std::uint32_t generation = 0;
    std::vector<std::uint8_t> in;  // 2 + 65535 octets once used
    std::size_t in_length = 0;
    std::vector<std::uint8_t> out;
    std::size_t out_sent = 0;
    std::int64_t created_ns = 0;
    std::int64_t active_ns = 0;
    std::uint32_t pending = 0;  // queries forwarded and not yet answered
    bool read_closed = false;
    bool want_write = false;
    std::optional<common::IpAddress> original;  // tproxy: the address the client connected to
    std::uint16_t original_port = 53;
  };
  struct Upstream {
    io::Fd fd;
    std::uint32_t slot = 0;
    std::vector<std::uint8_t> out;
    std::size_t out_sent = 0;
    std::vector<std::uint8_t> in;
    std::size_t in_length = 0;
  };

  void read_client(std::uint32_t index) noexcept;
  void handle_query(std::uint32_t index, std::span<std::uint8_t> query) noexcept;
  bool forward(std::uint32_t slot, std::span<const std::uint8_t> query) noexcept;
  void write_client(std::uint32_t index) noexcept;
  void close_client(std::uint32_t index) noexcept;
  void close_upstream(std::uint32_t index) noexcept;
  void answer_from_upstream(std::uint32_t index) noexcept;
  void set_events(int fd, std::uint64_t data, std::uint32_t events) noexcept;

  Worker& worker_;
  std::uint32_t max_connections_;
  std::vector<Client> clients_;
  std::vector<std::uint32_t> free_clients_;
  std::uint32_t open_clients_ = 0;
  std::vector<Upstream> upstreams_;
  std::vector<std::uint32_t> free_upstreams_;
};

}  // namespace dnsfence::proxy
