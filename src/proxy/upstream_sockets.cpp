#include "proxy/upstream_sockets.hpp"

#include <cerrno>

#include "common/net.hpp"

namespace dnsfence::proxy {
namespace {

// Large: an answer dropped here costs its client a SERVFAIL after upstream_timeout_ms. Only
// queued data takes memory, so many sockets with this size cost nothing while they are empty.
constexpr int kReceiveBuffer = 4 << 20;
// A socket index must fit Slot::socket; more sockets than this means each holds one query.
constexpr std::size_t kMaxSockets = 65535;

}  // namespace

int UpstreamSockets::open() noexcept {
  for (std::uint8_t family = 0; family < 2; ++family)
    for (const bool pass : {false, true}) {
      auto s = fresh(family);
      if (!s && family == 0) return errno != 0 ? errno : EMFILE;
      current_[family * 2 + (pass ? 1 : 0)] = s;
    }
  return 0;
}

std::optional<std::uint16_t> UpstreamSockets::fresh(std::uint8_t family) noexcept {
  if (sockets_.size() >= kMaxSockets && free_.empty()) return std::nullopt;
  // Port 0: the kernel picks a free ephemeral port at random (net.ipv4.ip_local_port_range).
  const auto any = *common::IpAddress::parse(family == 0 ? "0.0.0.0" : "::");
  auto fd = io::open_udp(common::SocketAddress(any, 0), {.receive_buffer = kReceiveBuffer});
  if (!fd) {
    errno = fd.error();
    return std::nullopt;
  }
  std::uint16_t i = 0;
  try {
    if (free_.empty()) {
      sockets_.emplace_back();
      i = static_cast<std::uint16_t>(sockets_.size() - 1);
    } else {
      i = free_.back();
      free_.pop_back();
    }
  } catch (...) {
    return std::nullopt;  // out of memory: the current socket carries on
  }
  Socket& s = sockets_[i];
  s.fd = std::move(*fd);
  s.carried = s.outstanding = 0;
  s.current = true;
  poller_.add(s.fd.get(), io::tag(kind_, i), EPOLLIN);
  ++open_;
  ++opened_;
  return i;
}

std::optional<std::uint16_t> UpstreamSockets::take(std::uint8_t family, bool pass) noexcept {
  auto& current = current_[family * 2 + (pass ? 1 : 0)];
  if (!current) return std::nullopt;
  if (sockets_[*current].carried >= kQueriesPerSocket) {
    if (auto next = fresh(family)) {
      retire(*current);
      current = next;
    }
  }
  Socket& s = sockets_[*current];
  ++s.carried;
  ++s.outstanding;
  return current;
}

void UpstreamSockets::retire(std::uint16_t i) noexcept {
  sockets_[i].current = false;
  if (sockets_[i].outstanding == 0) done(i);  // nothing to wait for: close now
}

void UpstreamSockets::done(std::uint16_t i) noexcept {
  if (i >= sockets_.size() || !sockets_[i].fd.valid()) return;
  Socket& s = sockets_[i];
  if (s.outstanding > 0) --s.outstanding;
  if (s.current || s.outstanding > 0) return;
  s.fd.reset();  // closing removes it from the poller; a late answer meets a closed port
  free_.push_back(i);
  --open_;
}

}  // namespace dnsfence::proxy
