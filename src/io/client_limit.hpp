#pragma once
// How many TCP connections each client address holds, shared by every listener of a process
// (serve's workers each accept on their own SO_REUSEPORT socket, and one client's connections
// land on several of them). A fixed open-addressing table sized for the most connections the
// process can hold, behind a mutex: taken once per accepted and once per closed connection, never
// per message, and never allocating after construction.

#include <cstdint>
#include <memory>
#include <mutex>

#include "common/net.hpp"

namespace dnsfence::io {

class ClientLimit {
 public:
  /// At most `per_client` connections per address (0: no limit), for at most `max_connections`
  /// connections in all.
  ClientLimit(std::uint32_t per_client, std::uint32_t max_connections);
  ClientLimit(const ClientLimit&) = delete;
  ClientLimit& operator=(const ClientLimit&) = delete;
  ~ClientLimit();

  /// Counts one more connection from `ip`; false (nothing counted) when it holds per_client.
  bool acquire(const common::IpAddress& ip) noexcept;
  /// Counts one connection from `ip` less (after a successful acquire()).
  void release(const common::IpAddress& ip) noexcept;
  /// Connections counted for `ip` (tests, metrics).
  [[nodiscard]] std::uint32_t count(const common::IpAddress& ip) const noexcept;
  [[nodiscard]] std::uint32_t per_client() const noexcept { return per_client_; }

 private:
  struct Entry;
  [[nodiscard]] std::size_t find(const common::IpAddress& ip) const noexcept;  // slot of ip or of the empty slot
  void erase(std::size_t slot) noexcept;

  std::uint32_t per_client_;
  std::size_t mask_;
  std::uint64_t seed_;
  std::size_t used_ = 0;  // addresses in the table
  mutable std::mutex mutex_;
  std::unique_ptr<Entry[]> table_;
};

}  // namespace dnsfence::io
