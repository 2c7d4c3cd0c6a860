#include "proxy/worker.hpp"

#include <stdlib.h>  // arc4random_buf
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

#include "proxy/tcp_server.hpp"

namespace dnsfence::proxy {
namespace {

constexpr std::size_t kUpstreamSockets = 4;  // per family: queries leave from random source ports
constexpr int kMaxBatchesPerWakeup = 8;      // fairness between sockets

[[noreturn]] void fail(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

std::uint64_t pack(std::uint8_t kind, std::uint32_t index) noexcept {
  return (static_cast<std::uint64_t>(kind) << 32) | index;
}

std::uint8_t family_index(const io::Peer& p) noexcept {
  return p.addr.ss_family == AF_INET ? 0 : 1;
}

void set_id(std::span<std::uint8_t> packet, std::uint16_t id) noexcept {
  packet[0] = static_cast<std::uint8_t>(id >> 8);
  packet[1] = static_cast<std::uint8_t>(id);
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
      recv_(std::make_unique<io::RecvBatch>()),
      replies_(std::make_unique<io::SendBatch>()),
      forwards_{std::make_unique<io::SendBatch>(), std::make_unique<io::SendBatch>()},
      tcp_(std::make_unique<TcpServer>(*this, (config.tcp_max_connections + workers - 1) / workers)) {}

Worker::~Worker() = default;

void Worker::add_epoll(int fd, Kind kind, std::uint32_t index, std::uint32_t events) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = pack(static_cast<std::uint8_t>(kind), index);
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void Worker::open() {
  epoll_ = io::Fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) fail(errno, "epoll_create1");
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
      add_epoll(udp->get(), Kind::UdpListener, static_cast<std::uint32_t>(udp_listeners_.size()));
      const auto family = static_cast<std::uint8_t>(a.ip().family() == AF_INET ? 0 : 1);
      udp_listeners_.push_back({std::move(*udp), transparent, reply53, a.port(), family});
      auto tcp = io::open_tcp_listener(a, o);
      if (!tcp) fail(tcp.error(), "tcp listener " + a.to_string());
      add_epoll(tcp->get(), Kind::TcpListener, static_cast<std::uint32_t>(tcp_listeners_.size()));
      tcp_listeners_.push_back({std::move(*tcp), transparent, reply53, a.port(), family});
    }
  };
  add_listeners(config_.listen, false);
  if (tproxy) add_listeners(config_.tproxy_listen, true);
  for (const char* any : {"0.0.0.0", "::"}) {
    for (std::size_t i = 0; i < kUpstreamSockets; ++i) {
      // Large: an answer dropped here costs its client a SERVFAIL after upstream_timeout_ms.
      auto fd = io::open_udp(common::SocketAddress(*common::IpAddress::parse(any), 0), {.receive_buffer = 4 << 20});
      // A host without IPv6 still forwards over IPv4: keep an invalid socket in its place.
      if (!fd && std::string_view(any) == "0.0.0.0") fail(fd.error(), "upstream socket");
      if (fd) add_epoll(fd->get(), Kind::Upstream, static_cast<std::uint32_t>(upstream_sockets_.size()));
      upstream_sockets_.push_back(fd ? std::move(*fd) : io::Fd());
    }
  }
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
  // Kernel randomness (upstream IDs and ports must not be predictable), 4 KiB per getrandom call:
  // glibc 2.36's arc4random makes one system call per value.
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
    const int n = epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), 20);
    for (int i = 0; i < n; ++i) {
      const auto kind = static_cast<Kind>(events[i].data.u64 >> 32);
      const auto index = static_cast<std::uint32_t>(events[i].data.u64);
      switch (kind) {
        case Kind::UdpListener:
          on_udp_queries(static_cast<std::uint8_t>(index));
          break;
        case Kind::Upstream:
          on_upstream_answers(static_cast<std::uint8_t>(index));
          break;
        case Kind::TcpListener:
          tcp_->accept(static_cast<std::uint8_t>(index));
          break;
        case Kind::TcpClient:
          tcp_->on_client(index, events[i].events);
          break;
        case Kind::TcpUpstream:
          tcp_->on_upstream(index, events[i].events);
          break;
      }
    }
    const std::int64_t now = now_ns();
    expire(now);
    pool_.due_probes(now, config_.health_check_interval.count() * 1'000'000,
                     [this](std::uint8_t u) { return send_probe(u); });
    if (now - last_tick_ > 100'000'000) {
      tcp_->tick(now);
      last_tick_ = now;
    }
    flush();
    stats_.inflight.set(table_.size());
    for (const std::uint8_t u : pool_.active()) stats_.upstream_up[u].set(pool_[u].up ? 1 : 0);
  }
}

void Worker::on_udp_queries(std::uint8_t listener) noexcept {
  for (int b = 0; b < kMaxBatchesPerWakeup; ++b) {
    const std::size_t n = recv_->recv(udp_listeners_[listener].fd.get());
    if (n == 0) break;
    flush();  // forwards already queued must leave from the socket they were recorded with
    forward_socket_ = {static_cast<std::uint8_t>(random() % kUpstreamSockets),
                       static_cast<std::uint8_t>(kUpstreamSockets + random() % kUpstreamSockets)};
    const std::int64_t now = now_ns();
    for (std::size_t i = 0; i < n; ++i) handle_udp_query(listener, i, now);
    flush();
    if (n < io::kBatch) break;
  }
}

void Worker::handle_udp_query(std::uint8_t listener, std::size_t i, std::int64_t now) noexcept {
  if (recv_->truncated(i)) {
    stats_.oversize.add();
    return;
  }
  std::optional<io::Peer> original;
  Query q{recv_->data(i), dns::Transport::Udp, std::nullopt};
  int reply_fd = udp_listeners_[listener].fd.get();
  if (udp_listeners_[listener].transparent) {
    original = recv_->original_destination(i);
    if (original) {
      q.original_destination = original->ip();
      // The reply must leave from the original address and port: drop what no socket could send
      // from that port before it costs an upstream query.
      reply_fd = reply_socket(listener, *original);
      if (reply_fd < 0) {
        stats_.tproxy_unanswerable.add();
        return;
      }
    }
  }
  // A plain reply is built in place in the send batch; one from an original destination in the
  // scratch buffer (it goes out with IP_PKTINFO).
  if (!original && (replies_->full() || (replies_fd_ >= 0 && replies_fd_ != reply_fd))) flush();
  Reply r{original ? std::span<std::uint8_t>(scratch_.data(), io::kMaxDatagram) : replies_->next()};
  const Decision d = pipeline_.handle(q, r);
  if (reports_ != nullptr) reports_->offer(q, d);
  stats_.count(dns::Transport::Udp, d.action, d.destination);
  if (config_.debug_log) debug_log(d, dns::Transport::Udp);
  if (d.rule != nullptr && d.rule->index < kMaxRuleCounters) stats_.rule_hits[d.rule->index].add();
  if (d.verdict == Verdict::Forward) {
    auto s = start_forward(d, original, now);
    if (s) {
      Slot& slot = table_[*s];
      slot.kind = SlotKind::Udp;
      slot.client = CompactAddr::from(recv_->peer(i));
      slot.listener = listener;
      slot.has_reply_from = original.has_value();
      if (slot.has_reply_from) slot.reply_from = CompactAddr::from(*original);
      if (!send_upstream_udp(*s, q.packet)) table_.release(*s);
      return;
    }
    if (config_.when_full == common::WhenFull::Drop) return;
    stats_.count(dns::Transport::Udp, Action::Full, d.destination);
    r.size = build_servfail(*d.message, dns::Transport::Udp, r.buffer);
  } else if (d.verdict == Verdict::Drop) {
    return;
  }
  if (r.size == 0) return;
  if (original) {
    queue_reply(reply_fd, std::span<const std::uint8_t>(r.buffer.data(), r.size), recv_->peer(i), original);
  } else {
    replies_fd_ = reply_fd;
    replies_->commit(r.size, recv_->peer(i));
  }
}

std::optional<std::uint32_t> Worker::start_forward(const Decision& d, const std::optional<io::Peer>& original,
                                                   std::int64_t now) noexcept {
  std::optional<std::uint8_t> upstream = kPassUpstream;
  if (d.action != Action::Pass || !original) upstream = pool_.pick(random());
  if (!upstream) return std::nullopt;
  auto s = table_.acquire(random(), now, now + config_.upstream_timeout.count() * 1'000'000);
  if (!s) return std::nullopt;
  Slot& slot = table_[*s];
  slot.upstream = *upstream;
  slot.target = CompactAddr::from(*upstream == kPassUpstream ? *original : pool_[*upstream].address);
  slot.client_id = d.message->header().id;
  store_question(slot, *d.message);
  slot.destination = static_cast<std::uint8_t>(d.destination);
  if (*upstream != kPassUpstream) stats_.upstream_sent[*upstream].add();
  return s;
}

bool Worker::send_upstream_udp(std::uint32_t s, dns::Bytes query) noexcept {
  Slot& slot = table_[s];
  const io::Peer target = slot.target.peer();
  const std::uint8_t f = family_index(target);
  if (!upstream_sockets_[forward_socket_[f]].valid() || query.size() > io::kMaxDatagram) return false;
  if (forwards_[f]->full()) flush();
  auto buf = forwards_[f]->next();
  std::copy(query.begin(), query.end(), buf.begin());
  set_id(buf, slot.upstream_id);
  slot.socket = forward_socket_[f];
  forwards_[f]->commit(query.size(), target);
  return true;
}

void Worker::debug_log(const Decision& d, dns::Transport t) const noexcept {
  // Only with debug_log = true: the one place query names are ever written anywhere.
  try {
    std::string name = "-";
    std::uint16_t type = 0;
    if (d.message && d.message->question()) {
      name = dns::to_text(d.message->packet(), d.message->question()->name);
      type = d.message->question()->qtype;
    }
    std::fprintf(stderr, "query worker=%u transport=%s name=%s type=%u action=%s destination=%s\n", index_,
                 t == dns::Transport::Udp ? "udp" : "tcp", name.c_str(), type,
                 std::string(action_name(d.action)).c_str(), std::string(policy::class_name(d.destination)).c_str());
  } catch (...) {
    std::fputs("query (debug log line failed)\n", stderr);  // a log line is not worth failing a query for
  }
}

void Worker::flush() noexcept {
  if (replies_->size() > 0 && replies_fd_ >= 0) stats_.send_errors.add(replies_->flush(replies_fd_));
  replies_fd_ = -1;
  for (std::size_t f = 0; f < 2; ++f)
    if (forwards_[f]->size() > 0)
      stats_.send_errors.add(forwards_[f]->flush(upstream_sockets_[forward_socket_[f]].get()));
}

int Worker::reply_socket(std::uint8_t listener, const io::Peer& from) const noexcept {
  const bool v4 = from.addr.ss_family == AF_INET;
  const auto port = ntohs(v4 ? reinterpret_cast<const sockaddr_in*>(&from.addr)->sin_port
                             : reinterpret_cast<const sockaddr_in6*>(&from.addr)->sin6_port);
  if (port == udp_listeners_[listener].port) return udp_listeners_[listener].fd.get();
  if (port == 53) return reply53_[v4 ? 0 : 1];
  return -1;
}

void Worker::send_from(std::uint8_t listener, const io::Peer& from, const io::Peer& to,
                       std::span<const std::uint8_t> data) noexcept {
  // Both sockets are transparent and have the original port: IP_PKTINFO sets the source address.
  const int fd = reply_socket(listener, from);
  if (fd < 0) {
    stats_.tproxy_unanswerable.add();  // checked on arrival (handle_udp_query): not reached
    return;
  }
  queue_reply(fd, data, to, from);
}

void Worker::queue_reply(int fd, std::span<const std::uint8_t> data, const io::Peer& to,
                         const std::optional<io::Peer>& from) noexcept {
  if (data.size() > io::kMaxDatagram) return;
  if (replies_->full() || (replies_fd_ >= 0 && replies_fd_ != fd)) flush();
  auto buf = replies_->next();
  std::copy(data.begin(), data.end(), buf.begin());
  replies_fd_ = fd;
  replies_->commit(data.size(), to, from);
}

}  // namespace dnsfence::proxy
