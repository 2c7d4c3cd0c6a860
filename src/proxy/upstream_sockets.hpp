#pragma once
// The UDP sockets a worker's queries to upstreams leave from, for the answer-spoofing margin
// (docs/serve.md): each socket has a source port the kernel picked at random from the ephemeral
// range when it was opened, carries at most kQueriesPerSocket queries, and is then replaced by a
// fresh one; a retired socket stays open until its last query is answered or expired, then
// closes. Queries to the provider's upstreams and pass-through queries to other resolvers never
// share a socket, so a resolver that receives pass-through queries learns no port that carries
// queries to the upstreams. A forged answer must hit the query's 16-bit ID and its port, which
// is one of the ~28,000 ephemeral ports, fresh every kQueriesPerSocket queries.

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "io/poller.hpp"
#include "io/socket.hpp"

namespace dnsfence::proxy {

class UpstreamSockets {
 public:
  /// Queries per socket before it is replaced: a socket's port serves at most this many.
  static constexpr std::uint32_t kQueriesPerSocket = 64;
  /// Sockets are registered with `poller` tagged (kind, index).
  UpstreamSockets(io::Poller& poller, std::uint8_t kind) noexcept : poller_(poller), kind_(kind) {}
  UpstreamSockets(const UpstreamSockets&) = delete;
  UpstreamSockets& operator=(const UpstreamSockets&) = delete;

  /// Opens the first socket of each family (control plane: fails with errno when IPv4 cannot be
  /// had; a host without IPv6 forwards over IPv4 only).
  int open() noexcept;
  /// The socket the next query of `family` (0: IPv4, 1: IPv6) leaves from, to an upstream or
  /// (`pass`) to another resolver, counted as carrying it until done(); nullopt when the family
  /// has no socket. Opens a fresh one when the current one has carried its share; if that fails
  /// (no descriptor left) the current one carries more.
  std::optional<std::uint16_t> take(std::uint8_t family, bool pass) noexcept;
  /// A query sent from socket `i` was answered, expired or failed.
  void done(std::uint16_t i) noexcept;
  [[nodiscard]] int fd(std::uint16_t i) const noexcept { return i < sockets_.size() ? sockets_[i].fd.get() : -1; }
  /// Sockets open now (current and retired).
  [[nodiscard]] std::size_t open_count() const noexcept { return open_; }
  /// Sockets opened over the worker's life (each a fresh random port).
  [[nodiscard]] std::uint64_t opened() const noexcept { return opened_; }

 private:
  struct Socket {
    io::Fd fd;
    std::uint32_t carried = 0;      // queries sent from it so far
    std::uint32_t outstanding = 0;  // of which not yet done
    bool current = false;
  };
  std::optional<std::uint16_t> fresh(std::uint8_t family) noexcept;
  void retire(std::uint16_t i) noexcept;

  io::Poller& poller_;
  std::uint8_t kind_;
  std::vector<Socket> sockets_;
  std::vector<std::uint16_t> free_;
  std::array<std::optional<std::uint16_t>, 4> current_{};  // [family * 2 + pass]
  std::size_t open_ = 0;
  std::uint64_t opened_ = 0;
};

}  // namespace dnsfence::proxy
