#pragma once
// Tproxy mode, UDP: a reply must leave from the address *and port* the client asked (a reply from
// the listener's port is rejected by kdig and glibc), and IP_PKTINFO can set only the address. So
// each worker keeps a small cache of transparent sockets, each bound to one original destination
// (say 192.0.2.53:53), opened the first time a client asks that resolver: a few sockets per
// worker in practice, never one per query. They are never read: the nft tproxy rule steers
// queries to the listener, and an unconnected socket is not an "established" match for it.

#include <array>
#include <cstdint>

#include "io/socket.hpp"
#include "io/udp_batch.hpp"
#include "proxy/inflight.hpp"

namespace dnsfence::proxy {

class ReplySockets {
 public:
  static constexpr std::size_t kCapacity = 64;
  /// Sends `data` from `from` to `to`; false if no socket could be bound or the send failed.
  bool send(const io::Peer& from, const io::Peer& to, std::span<const std::uint8_t> data) noexcept;

 private:
  struct Entry {
    CompactAddr bound;
    io::Fd fd;
  };
  std::array<Entry, kCapacity> entries_;
  std::size_t used_ = 0;
  std::size_t next_evict_ = 0;
};

}  // namespace dnsfence::proxy
