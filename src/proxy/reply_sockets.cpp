#include "proxy/reply_sockets.hpp"

#include <sys/socket.h>

namespace dnsfence::proxy {

bool ReplySockets::send(const io::Peer& from, const io::Peer& to, std::span<const std::uint8_t> data) noexcept {
  Entry* entry = nullptr;
  for (std::size_t i = 0; i < used_ && entry == nullptr; ++i)
    if (entries_[i].bound.same(from)) entry = &entries_[i];
  if (entry == nullptr) {
    const std::size_t i = used_ < kCapacity ? used_++ : (next_evict_++ % kCapacity);
    entry = &entries_[i];
    entry->fd.reset();
    entry->bound = CompactAddr::from(from);
    sockaddr_storage ss = from.addr;
    auto address = common::SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), from.len);
    if (!address) return false;
    auto fd = io::open_udp(*address, {.reuseaddr = true, .transparent = true});
    if (!fd) {
      entry->bound = CompactAddr{};
      return false;
    }
    entry->fd = std::move(*fd);
  }
  if (!entry->fd.valid()) return false;
  return sendto(entry->fd.get(), data.data(), data.size(), MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to.addr),
                to.len) >= 0;
}

}  // namespace dnsfence::proxy
