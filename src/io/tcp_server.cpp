#include "io/tcp_server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace dnsfence::io {
namespace {

constexpr int kAcceptsPerEvent = 32;              // fairness between listeners and connections
constexpr int kReadsPerEvent = 4;                 // fairness between connections
constexpr std::int64_t kMinIdleNs = 200'000'000;  // shortened idle times never go below it (Unbound)

}  // namespace

struct TcpServer::Conn {
  Fd fd;
  std::uint32_t generation = 0;
  TcpConnInfo info;
  StreamIn in;
  StreamOut out;
  std::int64_t created_ns = 0;
  std::int64_t progress_ns = 0;  // last complete message read or answer octets written
  std::uint64_t written_seen = 0;
  std::uint32_t pending = 0;
  std::uint32_t events = 0;  // registered with the poller now
  bool read_closed = false;
  bool deferred = false;  // in deferred_
};

std::string_view close_reason_name(TcpClose r) noexcept {
  switch (r) {
    case TcpClose::Eof:
      return "eof";
    case TcpClose::Reset:
      return "reset";
    case TcpClose::Idle:
      return "idle";
    case TcpClose::Lifetime:
      return "lifetime";
    case TcpClose::Stalled:
      return "stalled";
    case TcpClose::Overflow:
      return "overflow";
    case TcpClose::Shutdown:
      return "shutdown";
  }
  return "?";
}

TcpServer::TcpServer(Poller& poller, TcpHandler& handler, const TcpLimits& limits, std::uint8_t listener_kind,
                     std::uint8_t connection_kind, ClientLimit* clients)
    : poller_(poller),
      handler_(handler),
      limits_(limits),
      listener_kind_(listener_kind),
      connection_kind_(connection_kind),
      clients_(clients),
      scratch_(kScratchSize) {
  limits_.max_connections = std::max<std::uint32_t>(1, limits_.max_connections);
  limits_.max_pending = std::max<std::uint32_t>(1, limits_.max_pending);
  conns_.reserve(limits_.max_connections);  // Conn holds no buffer until used: ~150 octets each
  free_.reserve(limits_.max_connections);
  deferred_.reserve(limits_.max_connections);
}

TcpServer::~TcpServer() {
  for (std::uint32_t i = 0; i < conns_.size(); ++i)
    if (conns_[i].fd.valid()) close(i, TcpClose::Shutdown);
}

std::uint8_t TcpServer::add_listener(Fd fd, bool want_local) {
  const auto index = static_cast<std::uint8_t>(listeners_.size());
  poller_.add(fd.get(), tag(listener_kind_, index), paused_ ? 0U : EPOLLIN);
  listeners_.push_back({std::move(fd), want_local});
  return index;
}

TcpServer::Conn* TcpServer::live(TcpConnRef ref) noexcept {
  if (ref.index >= conns_.size()) return nullptr;
  Conn& c = conns_[ref.index];
  return c.fd.valid() && c.generation == ref.generation ? &c : nullptr;
}

const TcpConnInfo* TcpServer::info(TcpConnRef ref) const noexcept {
  if (ref.index >= conns_.size()) return nullptr;
  const Conn& c = conns_[ref.index];
  return c.fd.valid() && c.generation == ref.generation ? &c.info : nullptr;
}

std::int64_t TcpServer::idle_ns() const noexcept {
  // Unbound's steps (util/netevent.c, setup_tcp_handler), applied to every connection as the
  // server fills, not only to those accepted late. Out of descriptors counts as full.
  const std::uint64_t usage = pause_until_ > now_ ? 100 : 100ULL * open_ / limits_.max_connections;
  std::int64_t idle = limits_.idle_ns;
  if (usage > 80) {
    idle = 0;
  } else if (usage > 65) {
    idle /= 500;
  } else if (usage > 50) {
    idle /= 100;
  }
  return std::max(idle, std::min(kMinIdleNs, limits_.idle_ns));
}

void TcpServer::on_listener(std::uint32_t index) noexcept {
  if (index >= listeners_.size() || paused_) return;
  for (int n = 0; n < kAcceptsPerEvent && !paused_; ++n) {
    common::SocketAddress peer;
    socklen_t len = common::SocketAddress::kCapacity;
    Fd fd(accept4(listeners_[index].fd.get(), static_cast<sockaddr*>(peer.kernel_storage()), &len,
                  SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        pause_until_ = now_ + limits_.accept_pause_ns;
        pause(TcpPause::NoDescriptors);
      }
      return;  // EAGAIN; ECONNABORTED and the like: the next event tries again
    }
    peer.adopt(len);
    accept_one(static_cast<std::uint8_t>(index), std::move(fd), peer);
  }
}

void TcpServer::accept_one(std::uint8_t listener, Fd fd, const common::SocketAddress& peer) noexcept {
  if (clients_ != nullptr && !clients_->acquire(peer.ip())) {
    handler_.on_refused();
    return;  // closed by Fd's destructor
  }
  std::uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(conns_.size());
    conns_.emplace_back();  // within the reserved capacity: open_ < max_connections here
  }
  Conn& c = conns_[index];
  c.fd = std::move(fd);
  c.info = {peer, std::nullopt, listener};
  if (listeners_[listener].want_local)
    if (auto local = local_address(c.fd.get())) c.info.local = *local;
  c.created_ns = c.progress_ns = now_;
  c.written_seen = c.out.written();
  c.pending = 0;
  c.read_closed = false;
  c.deferred = false;
  c.events = EPOLLIN | EPOLLRDHUP;
  poller_.add(c.fd.get(), tag(connection_kind_, index), c.events);
  ++open_;
  handler_.on_open(open_);
  if (open_ >= limits_.max_connections) pause(TcpPause::Full);
}

void TcpServer::on_connection(std::uint32_t index, std::uint32_t events) noexcept {
  if (index >= conns_.size() || !conns_[index].fd.valid()) return;
  Conn& c = conns_[index];
  // A reset, or both directions shut: nothing can be read or written any more. (EPOLLERR and
  // EPOLLHUP are reported whatever the interest, so waiting would spin.)
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
    close(index, TcpClose::Reset);
    return;
  }
  if ((events & EPOLLOUT) != 0) {
    after_write(index, c.out.flush(c.fd.get()));
    if (!c.fd.valid()) return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP)) != 0 && (c.events & EPOLLIN) != 0) on_readable(index);
}

bool TcpServer::can_take(const Conn& c) const noexcept {
  // Not while answers wait for the socket: a client that does not read is not read either.
  return c.pending < limits_.max_pending && c.out.queued() == 0;
}

void TcpServer::on_readable(std::uint32_t index) noexcept {
  for (int r = 0; r < kReadsPerEvent; ++r)
    if (!read_more(index)) break;
  if (conns_[index].fd.valid()) {
    update_events(index);
    done_if_finished(index);
  }
}

// One read after the kept bytes, and the messages it completes. False when there is nothing
// more to do now (no data, paused, closed).
bool TcpServer::read_more(std::uint32_t index) noexcept {
  Conn& c = conns_[index];
  if (c.read_closed || !can_take(c)) return false;
  const std::size_t kept = c.in.restore(scratch_);
  const auto r = read_some(c.fd.get(), std::span(scratch_).subspan(kept, kReadChunk));
  if (r.status == IoStatus::Error) {
    close(index, TcpClose::Reset);
    return false;
  }
  if (r.status == IoStatus::Again) return false;
  if (r.status == IoStatus::Closed) c.read_closed = true;
  deliver(index, std::span(scratch_).first(kept + r.bytes));
  return r.status == IoStatus::Ok && r.bytes == kReadChunk && conns_[index].fd.valid();
}

void TcpServer::deliver(std::uint32_t index, std::span<std::uint8_t> data) noexcept {
  Conn& c = conns_[index];
  const TcpConnRef ref{index, c.generation};
  std::size_t offset = 0;
  while (can_take(c)) {
    std::size_t next = offset;
    const auto message = next_message(data, next);
    if (!message) break;
    offset = next;
    ++c.pending;
    c.progress_ns = now_;
    handler_.on_message(ref, c.info, *message);
    if (live(ref) == nullptr) return;  // the handler's answer closed it
  }
  if (!c.in.keep(data.subspan(offset))) close(index, TcpClose::Reset);
}

void TcpServer::run_deferred() noexcept {
  // Messages read before reading stopped: no event will announce them. Taken here, from the
  // owner's loop, never from inside reply() (whose caller may be in the middle of its own work).
  while (!deferred_.empty()) {
    const std::uint32_t index = deferred_.back();
    deferred_.pop_back();
    Conn& c = conns_[index];
    c.deferred = false;
    if (!c.fd.valid()) continue;
    if (c.in.has_message() && can_take(c)) {
      const std::size_t kept = c.in.restore(scratch_);
      deliver(index, std::span(scratch_).first(kept));
      if (!c.fd.valid()) continue;
    }
    update_events(index);
    done_if_finished(index);
  }
}

void TcpServer::room_freed(std::uint32_t index) noexcept {
  Conn& c = conns_[index];
  update_events(index);
  if (c.in.has_message() && !c.deferred) {
    c.deferred = true;
    deferred_.push_back(index);
  }
  done_if_finished(index);
}

bool TcpServer::reply(TcpConnRef ref, std::span<const std::uint8_t> message) noexcept {
  Conn* c = live(ref);
  if (c == nullptr) return false;
  if (c->pending > 0) --c->pending;
  // One answer always fits an empty queue; more than max_queued waiting means the client
  // stopped reading long ago.
  if (c->out.queued() > 0 && c->out.queued() + 2 + message.size() > limits_.max_queued) {
    close(ref.index, TcpClose::Overflow);
    return false;
  }
  after_write(ref.index, c->out.send(c->fd.get(), message));
  return live(ref) != nullptr;
}

void TcpServer::finish(TcpConnRef ref) noexcept {
  Conn* c = live(ref);
  if (c == nullptr) return;
  if (c->pending > 0) --c->pending;
  room_freed(ref.index);
}

void TcpServer::after_write(std::uint32_t index, IoStatus status) noexcept {
  Conn& c = conns_[index];
  if (status == IoStatus::Error) {
    close(index, TcpClose::Reset);
    return;
  }
  if (c.out.written() != c.written_seen) {
    c.written_seen = c.out.written();
    c.progress_ns = now_;
  }
  room_freed(index);
}

void TcpServer::done_if_finished(std::uint32_t index) noexcept {
  const Conn& c = conns_[index];
  // After the client's end of stream: once every answer is written, nothing more can happen.
  if (c.fd.valid() && c.read_closed && c.pending == 0 && c.out.queued() == 0 && !c.in.has_message())
    close(index, TcpClose::Eof);
}

void TcpServer::update_events(std::uint32_t index) noexcept {
  Conn& c = conns_[index];
  // A half-closed connection is no longer watched for reading: level-triggered EPOLLIN and
  // EPOLLRDHUP would report its end of stream on every wait.
  std::uint32_t events = 0;
  if (!c.read_closed && can_take(c)) events |= EPOLLIN | EPOLLRDHUP;
  if (c.out.queued() > 0) events |= EPOLLOUT;
  if (events == c.events) return;
  c.events = events;
  poller_.modify(c.fd.get(), tag(connection_kind_, index), events);
}

void TcpServer::close(std::uint32_t index, TcpClose reason) noexcept {
  Conn& c = conns_[index];
  if (!c.fd.valid()) return;
  if (clients_ != nullptr) clients_->release(c.info.peer.ip());
  c.fd.reset();  // closing removes it from the poller
  ++c.generation;
  c.in.release();
  c.out.release();
  c.pending = 0;
  free_.push_back(index);
  --open_;
  handler_.on_closed(reason);
  handler_.on_open(open_);
  if (paused_ && pause_until_ == 0 && open_ < limits_.max_connections) resume_listeners();
}

void TcpServer::pause(TcpPause why) noexcept {
  if (!paused_) {
    paused_ = true;
    for (std::size_t i = 0; i < listeners_.size(); ++i)
      poller_.modify(listeners_[i].fd.get(), tag(listener_kind_, static_cast<std::uint32_t>(i)), 0);
  }
  handler_.on_paused(why);
}

void TcpServer::resume_listeners() noexcept {
  paused_ = false;
  pause_until_ = 0;
  for (std::size_t i = 0; i < listeners_.size(); ++i)
    poller_.modify(listeners_[i].fd.get(), tag(listener_kind_, static_cast<std::uint32_t>(i)), EPOLLIN);
}

void TcpServer::tick(std::int64_t now_ns) noexcept {
  now_ = now_ns;
  if (paused_ && pause_until_ != 0 && now_ >= pause_until_) {
    if (open_ < limits_.max_connections) {
      resume_listeners();
    } else {
      pause_until_ = 0;  // still full: wait for a close
    }
  }
  const std::int64_t idle = idle_ns();
  for (std::uint32_t i = 0; i < conns_.size(); ++i) {
    const Conn& c = conns_[i];
    if (!c.fd.valid()) continue;
    if (now_ - c.created_ns > limits_.lifetime_ns) {
      close(i, TcpClose::Lifetime);
    } else if (now_ - c.progress_ns > idle && c.out.queued() > 0) {
      close(i, TcpClose::Stalled);
    } else if (now_ - c.progress_ns > idle && c.pending == 0) {
      close(i, TcpClose::Idle);  // queries waiting for an answer have deadlines of their own
    }
  }
}

}  // namespace dnsfence::io
