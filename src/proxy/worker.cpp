#include "proxy/worker.hpp"

#include <stdlib.h>  // arc4random_buf
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

namespace dnsfence::proxy {
namespace {

constexpr int kMaxBatchesPerWakeup = 8;  // fairness between sockets
constexpr std::int64_t kTickNs = 100'000'000;

[[noreturn]] void fail(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

io::TcpLimits tcp_limits(const common::ServeConfig& c, unsigned workers) {
  return {.max_connections = (c.tcp_max_connections + workers - 1) / workers,
          .max_pending = c.tcp_max_inflight_per_connection,
          .max_queued = c.tcp_max_queued_bytes,
          .idle_ns = std::chrono::nanoseconds(c.tcp_idle_timeout).count(),
          .lifetime_ns = std::chrono::nanoseconds(c.tcp_total_timeout).count()};
}

}  // namespace

std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Worker::Worker(unsigned index, unsigned workers, const common::ServeConfig& config, Shared& shared)
    : index_(index),
      config_(config),
      shared_(shared),
      table_(config.max_inflight),
      tcp_(poller_, *this, tcp_limits(config, workers), static_cast<std::uint8_t>(Kind::TcpListener),
           static_cast<std::uint8_t>(Kind::TcpClient), shared.tcp_clients.get()),
      sockets_(poller_, static_cast<std::uint8_t>(Kind::Upstream)),
      streams_(poller_, static_cast<std::uint8_t>(Kind::TcpUpstream), table_, *this),
      recv_(std::make_unique<io::RecvBatch>()),
      replies_(std::make_unique<io::SendBatch>()) {
  for (auto& f : forwards_) f = std::make_unique<io::SendBatch>();
}

Worker::~Worker() = default;

void Worker::open() {
  const bool tproxy = config_.mode == common::InterceptMode::Tproxy;
  auto add_listeners = [&](const std::vector<common::SocketAddress>& addresses, bool transparent) {
    for (const auto& a : addresses) {
      // In tproxy mode a plain listener on port 53 is transparent too (it still reads no original
      // destination): replies to intercepted port-53 queries leave by it, from the address asked.
      const bool reply53 = tproxy && a.port() == 53;
      const io::SocketOptions o{.reuseport = true,
                                .transparent = transparent || reply53,
                                .original_dst = transparent,
                                .receive_buffer = static_cast<int>(config_.udp_receive_buffer)};
      auto udp = io::open_udp(a, o);
      if (!udp) fail(udp.error(), "udp listener " + a.to_string());
      poller_.add(
          udp->get(),
          io::tag(static_cast<std::uint8_t>(Kind::UdpListener), static_cast<std::uint32_t>(udp_listeners_.size())),
          EPOLLIN);
      const auto family = static_cast<std::uint8_t>(a.is_v4() ? 0 : 1);
      udp_listeners_.push_back({std::move(*udp), transparent, reply53, a.port(), family});
      auto tcp = io::open_tcp_listener(a, o);
      if (!tcp) fail(tcp.error(), "tcp listener " + a.to_string());
      // A transparent connection's local address is the resolver the client asked.
      tcp_.add_listener(std::move(*tcp), transparent);
    }
  };
  add_listeners(config_.listen, false);
  if (tproxy) add_listeners(config_.tproxy_listen, true);
  if (const int error = sockets_.open(); error != 0) fail(error, "upstream socket");
}

std::array<bool, 2> Worker::needs_tproxy_reply() const noexcept {
  std::array<bool, 2> transparent{};
  std::array<bool, 2> on_53{};
  for (const auto& l : udp_listeners_) {
    transparent[l.family] = transparent[l.family] || l.transparent;
    on_53[l.family] = on_53[l.family] || l.reply53;
  }
  return {transparent[0] && !on_53[0], transparent[1] && !on_53[1]};
}

std::uint64_t Worker::random() noexcept {
  // Kernel randomness (upstream IDs must not be predictable), 4 KiB per getrandom call: glibc
  // 2.36's arc4random makes one system call per value.
  if (random_next_ == random_pool_.size()) {
    if (getrandom(random_pool_.data(), sizeof random_pool_, 0) != static_cast<ssize_t>(sizeof random_pool_))
      arc4random_buf(random_pool_.data(), sizeof random_pool_);
    random_next_ = 0;
  }
  return random_pool_[random_next_++];
}

void Worker::refresh() noexcept {
  const auto g = shared_.generation.load(std::memory_order_acquire);
  if (g == generation_) return;
  generation_ = g;
  rules_ = shared_.rules.load();
  pipeline_.set_rules(rules_.get());
  // Slots name upstreams by their process-wide index, so in-flight queries need no remapping.
  if (const auto upstreams = shared_.upstreams.load()) pool_.update(*upstreams);
  applied_generation_.store(g, std::memory_order_release);
}

void Worker::run() noexcept {
  // Replies from port 53 leave through this worker's listener on port 53 (transparent in tproxy
  // mode), if it has one for the family, else through the shared reply socket (opened before
  // privileges dropped).
  for (std::size_t f = 0; f < 2; ++f) reply53_[f] = shared_.tproxy_reply[f].get();
  for (const auto& l : udp_listeners_)
    if (l.reply53) reply53_[l.family] = l.fd.get();
  std::array<epoll_event, 64> events{};
  while (!shared_.stop.load(std::memory_order_relaxed)) {
    refresh();
    const int n = poller_.wait(events, 20);
    now_ = now_ns();
    tcp_.set_now(now_);
    for (int i = 0; i < n; ++i) {
      const auto index = io::tag_index(events[i].data.u64);
      switch (static_cast<Kind>(io::tag_kind(events[i].data.u64))) {
        case Kind::UdpListener:
          on_udp_queries(static_cast<std::uint8_t>(index));
          break;
        case Kind::Upstream:
          on_upstream_answers(static_cast<std::uint16_t>(index));
          break;
        case Kind::TcpListener:
          tcp_.on_listener(index);
          break;
        case Kind::TcpClient:
          tcp_.on_connection(index, events[i].events);
          break;
        case Kind::TcpUpstream:
          streams_.on_event(index, events[i].events, now_);
          break;
      }
    }
    tcp_.run_deferred();
    now_ = now_ns();
    expire(now_);
    pool_.due_probes(now_, config_.health_check_interval.count() * 1'000'000,
                     [this](std::uint8_t u) { return send_probe(u); });
    if (now_ - last_tick_ > kTickNs) {
      tcp_.tick(now_);
      streams_.tick(now_);
      last_tick_ = now_;
    }
    flush();
    stats_.inflight.set(table_.size());
    stats_.upstream_sockets.set(sockets_.open_count());
    stats_.upstream_tcp_connections.set(streams_.open());
  }
}

void Worker::on_udp_queries(std::uint8_t listener) noexcept {
  for (int b = 0; b < kMaxBatchesPerWakeup; ++b) {
    const std::size_t n = recv_->recv(udp_listeners_[listener].fd.get());
    if (n == 0) break;
    flush();  // replies already queued must leave before the batch's buffers are reused
    now_ = now_ns();
    for (std::size_t i = 0; i < n; ++i) handle_udp_query(listener, i);
    flush();
    if (n < io::kBatch) break;
  }
}

void Worker::handle_udp_query(std::uint8_t listener, std::size_t i) noexcept {
  if (recv_->truncated(i)) {
    stats_.oversize.add();
    return;
  }
  Origin o;
  o.listener = listener;
  o.client = &recv_->peer(i);
  o.reply_fd = udp_listeners_[listener].fd.get();
  if (udp_listeners_[listener].transparent) {
    o.original = recv_->original_destination(i);
    if (o.original) {
      // The reply must leave from the original address and port: drop what no socket could send
      // from that port before it costs an upstream query.
      o.reply_fd = reply_socket(listener, *o.original);
      if (o.reply_fd < 0) {
        stats_.tproxy_unanswerable.add();
        return;
      }
    }
  }
  // A plain reply is built in place in the send batch; one from an original destination in the
  // scratch buffer (it goes out with IP_PKTINFO).
  if (!o.original && (replies_->full() || (replies_fd_ >= 0 && replies_fd_ != o.reply_fd))) flush();
  const auto buffer = o.original ? std::span<std::uint8_t>(scratch_.data(), io::kMaxDatagram) : replies_->next();
  handle_query(o, recv_->data(i), Reply{buffer});
}

void Worker::on_message(io::TcpConnRef conn, const io::TcpConnInfo& info, std::span<std::uint8_t> message) noexcept {
  Origin o;
  o.transport = dns::Transport::Tcp;
  o.conn = conn;
  o.original = info.local;  // set for transparent listeners only
  handle_query(o, message, Reply{std::span<std::uint8_t>(scratch_.data(), scratch_.size())});
}

void Worker::on_closed(io::TcpClose reason) noexcept {
  stats_.tcp_closed[static_cast<std::size_t>(reason)].add();
}

void Worker::on_refused() noexcept {
  stats_.tcp_refused.add();
}

void Worker::on_paused(io::TcpPause why) noexcept {
  stats_.tcp_paused[static_cast<std::size_t>(why)].add();
}

void Worker::on_open(std::uint32_t connections) noexcept {
  stats_.tcp_connections.set(connections);
}

void Worker::flush() noexcept {
  if (replies_->size() > 0 && replies_fd_ >= 0) stats_.send_errors.add(replies_->flush(replies_fd_));
  replies_fd_ = -1;
  for (std::size_t k = 0; k < forwards_.size(); ++k)
    if (forwards_[k]->size() > 0) stats_.send_errors.add(forwards_[k]->flush(sockets_.fd(forward_socket_[k])));
}

int Worker::reply_socket(std::uint8_t listener, const common::SocketAddress& from) const noexcept {
  if (from.port() == udp_listeners_[listener].port) return udp_listeners_[listener].fd.get();
  if (from.port() == 53) return reply53_[from.is_v4() ? 0 : 1];
  return -1;
}

void Worker::send_udp(const Slot& slot, std::span<const std::uint8_t> data) noexcept {
  if (!slot.has_original) {
    queue_reply(udp_listeners_[slot.listener].fd.get(), data, slot.client, std::nullopt);
    return;
  }
  // Both sockets are transparent and have the original port: IP_PKTINFO sets the source address.
  const int fd = reply_socket(slot.listener, slot.original);
  if (fd < 0) {
    stats_.tproxy_unanswerable.add();  // checked on arrival (handle_udp_query): not reached
    return;
  }
  queue_reply(fd, data, slot.client, slot.original);
}

void Worker::queue_reply(int fd, std::span<const std::uint8_t> data, const common::SocketAddress& to,
                         const std::optional<common::SocketAddress>& from) noexcept {
  if (data.size() > io::kMaxDatagram) return;
  if (replies_->full() || (replies_fd_ >= 0 && replies_fd_ != fd)) flush();
  auto buf = replies_->next();
  std::copy(data.begin(), data.end(), buf.begin());
  replies_fd_ = fd;
  replies_->commit(data.size(), to, from);
}

}  // namespace dnsfence::proxy
