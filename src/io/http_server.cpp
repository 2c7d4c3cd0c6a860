#include "io/http_server.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace dnsfence::io::http {
namespace {

using Steady = std::chrono::steady_clock;

// epoll data of the loop's own descriptors; connections count up from kFirstConnection.
constexpr std::uint64_t kListener = 1;
constexpr std::uint64_t kWake = 2;
constexpr std::uint64_t kMailbox = 3;
constexpr std::uint64_t kFirstConnection = 16;
constexpr std::size_t kReadChunk = 4096;
constexpr std::size_t kAcceptBurst = 64;  // per wake-up, so a connection flood cannot starve clients
constexpr auto kAcceptPause = std::chrono::milliseconds(100);  // after EMFILE/ENFILE
constexpr std::size_t kKeepCapacity = 16384;                   // larger buffers are released between requests

enum class Phase : std::uint8_t { Idle, Head, Body, Handling, Writing };

struct Conn {
  std::uint64_t id = 0;
  Fd fd;
  common::SocketAddress peer;
  Phase phase = Phase::Head;
  std::string in;
  std::string out;
  std::size_t sent = 0;
  std::size_t requests = 0;
  bool keep_alive = true;
  bool close_after = false;
  bool timed = false;
  Steady::time_point deadline;
  std::uint32_t events = EPOLLIN;
};

struct IpHash {
  std::size_t operator()(const common::IpAddress& a) const noexcept {
    std::size_t h = 1469598103934665603ULL;  // FNV-1a
    for (std::size_t i = 0; i < a.size(); ++i) h = (h ^ a.bytes()[i]) * 1099511628211ULL;
    return h;
  }
};

Response plain(int status) {
  return Response{status, "text/plain; charset=utf-8", std::string(reason(status)) + "\n", {}};
}

std::string serialize(const Response& r, bool keep_alive) {
  std::string out;
  out.reserve(r.body.size() + 160);
  out += "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason(r.status)) + "\r\n";
  if (!r.content_type.empty()) out += "Content-Type: " + r.content_type + "\r\n";
  for (const auto& h : r.headers) out += h.name + ": " + h.value + "\r\n";
  const bool bodiless = r.status == 204 || r.status == 304;  // RFC 9110 §8.6: no Content-Length
  if (!bodiless) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!bodiless) out += r.body;
  return out;
}

void add_to_epoll(int epoll, int fd, std::uint64_t data, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(errno));
}

}  // namespace

struct Reply::Mailbox {
  Fd event{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, Response>> items;
  bool closed = false;

  void post(std::uint64_t connection, Response response) {
    bool wake = false;
    {
      const std::lock_guard lock(mutex);
      if (closed) return;
      wake = items.empty();  // one wake-up per batch of answers
      items.emplace_back(connection, std::move(response));
    }
    const std::uint64_t one = 1;
    if (wake) (void)!::write(event.get(), &one, sizeof one);
  }
  std::vector<std::pair<std::uint64_t, Response>> take() {
    std::uint64_t count = 0;
    (void)!::read(event.get(), &count, sizeof count);
    std::vector<std::pair<std::uint64_t, Response>> out;
    const std::lock_guard lock(mutex);
    out.swap(items);
    return out;
  }
  void close() {
    const std::lock_guard lock(mutex);
    closed = true;
    items.clear();
  }
};

Reply::Reply(std::shared_ptr<Mailbox> mailbox, std::uint64_t connection)
    : mailbox_(std::move(mailbox)), connection_(connection), sent_(std::make_shared<std::atomic<bool>>(false)) {}

void Reply::operator()(Response response) const {
  if (sent_->exchange(true)) return;
  mailbox_->post(connection_, std::move(response));
}

Handler synchronous(std::function<Response(const Request&)> f) {
  return [f = std::move(f)](const Request& request, const Reply& reply) {
    Response r;
    try {
      r = f(request);
    } catch (const std::exception&) {
      r = plain(500);
    }
    reply(std::move(r));
  };
}

struct Server::Loop {
  Fd listener;
  Fd epoll{::epoll_create1(EPOLL_CLOEXEC)};
  Fd wake{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
  std::shared_ptr<Reply::Mailbox> mailbox = std::make_shared<Reply::Mailbox>();
  Handler handler;
  ServerLimits limits;
  ServerStats& stats;
  std::unordered_map<std::uint64_t, Conn> conns;
  std::set<std::pair<Steady::time_point, std::uint64_t>> timers;
  std::unordered_map<common::IpAddress, std::size_t, IpHash> per_client;
  std::uint64_t next_id = kFirstConnection;
  std::optional<Steady::time_point> paused_until;
  Request request;  // reused: the parser fills it, the handler reads it

  Loop(Fd l, Handler h, ServerLimits lim, ServerStats& s)
      : listener(std::move(l)), handler(std::move(h)), limits(lim), stats(s) {
    if (!epoll.valid() || !wake.valid() || !mailbox->event.valid())
      throw std::runtime_error(std::string("HTTP server: ") + std::strerror(errno));
    add_to_epoll(epoll.get(), listener.get(), kListener, EPOLLIN);
    add_to_epoll(epoll.get(), wake.get(), kWake, EPOLLIN);
    add_to_epoll(epoll.get(), mailbox->event.get(), kMailbox, EPOLLIN);
  }
  ~Loop() { mailbox->close(); }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  void run() noexcept;
  void on_accept(Steady::time_point now);
  void admit(Fd fd, const common::SocketAddress& peer, Steady::time_point now);
  bool evict_one();
  void on_event(std::uint64_t id, std::uint32_t events, Steady::time_point now);
  void on_readable(Conn& c, Steady::time_point now);
  void parse(Conn& c, Steady::time_point now);
  void dispatch(Conn& c, Steady::time_point now);
  void drain(Steady::time_point now);
  void respond(Conn& c, const Response& r, Steady::time_point now);
  void on_writable(Conn& c, Steady::time_point now);
  void finish(Conn& c, Steady::time_point now);
  void expire(Steady::time_point now);
  void set_deadline(Conn& c, Steady::time_point deadline);
  void watch(Conn& c, std::uint32_t events);
  void close(std::uint64_t id);
  [[nodiscard]] int timeout_ms(Steady::time_point now) const;
};

void Server::Loop::run() noexcept {
  std::array<epoll_event, 64> events{};
  for (;;) {
    const int n = ::epoll_wait(epoll.get(), events.data(), events.size(), timeout_ms(Steady::now()));
    if (n < 0 && errno != EINTR) return;
    const auto now = Steady::now();
    for (int i = 0; i < n; ++i) {
      const std::uint64_t id = events[static_cast<std::size_t>(i)].data.u64;
      if (id == kWake) return;
      try {
        if (id == kListener) {
          on_accept(now);
        } else if (id == kMailbox) {
          drain(now);
        } else {
          on_event(id, events[static_cast<std::size_t>(i)].events, now);
        }
      } catch (const std::exception&) {
        close(id);  // out of memory for this connection: drop it, keep serving the others
      }
    }
    expire(now);
    if (paused_until && now >= *paused_until) {
      paused_until.reset();
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListener;
      ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, listener.get(), &ev);
    }
  }
}

void Server::Loop::on_accept(Steady::time_point now) {
  for (std::size_t i = 0; i < kAcceptBurst; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    Fd fd(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener would stay readable and the loop spin. Close the
        // longest-waiting connection if there is one, and stop accepting for a moment.
        evict_one();
        epoll_event ev{};
        ev.data.u64 = kListener;
        ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, listener.get(), &ev);
        paused_until = now + kAcceptPause;
      }
      return;
    }
    auto peer = common::SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    ++stats.accepted;
    admit(std::move(fd), peer ? *peer : common::SocketAddress{}, now);
  }
}

void Server::Loop::admit(Fd fd, const common::SocketAddress& peer, Steady::time_point now) {
  const auto known = per_client.find(peer.ip());
  if (known != per_client.end() && known->second >= limits.max_connections_per_client) {
    ++stats.refused;
    return;
  }
  if (conns.size() >= limits.max_connections && !evict_one()) {
    ++stats.refused;
    return;
  }
  const std::uint64_t id = next_id++;
  add_to_epoll(epoll.get(), fd.get(), id, EPOLLIN);
  Conn& c = conns[id];
  c.id = id;
  c.fd = std::move(fd);
  c.peer = peer;
  ++per_client[peer.ip()];
  ++stats.open;
  set_deadline(c, now + limits.header_timeout);
}

// Closes the connection that has waited longest for a request: keep-alive connections first, then
// ones whose head or body is still arriving. Never one whose request is being answered.
bool Server::Loop::evict_one() {
  for (const Phase wanted : {Phase::Idle, Phase::Head, Phase::Body}) {
    for (const auto& [deadline, id] : timers) {
      if (conns.at(id).phase != wanted) continue;
      ++stats.evicted;
      close(id);
      return true;
    }
  }
  return false;
}

void Server::Loop::on_event(std::uint64_t id, std::uint32_t events, Steady::time_point now) {
  const auto it = conns.find(id);
  if (it == conns.end()) return;
  Conn& c = it->second;
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
    close(id);  // reset, or closed both ways: nobody to answer
  } else if (c.phase == Phase::Writing && (events & EPOLLOUT) != 0) {
    on_writable(c, now);
  } else if (c.phase <= Phase::Body && (events & EPOLLIN) != 0) {
    on_readable(c, now);
  }
}

void Server::Loop::on_readable(Conn& c, Steady::time_point now) {
  const std::size_t cap = limits.parser.max_header_bytes + limits.parser.max_body + kReadChunk;
  std::array<char, kReadChunk> buf{};
  const std::size_t room = cap > c.in.size() ? std::min(cap - c.in.size(), buf.size()) : 0;
  const ssize_t n = room == 0 ? 0 : ::recv(c.fd.get(), buf.data(), room, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    close(c.id);  // the client closed (or failed) before completing a request
    return;
  }
  c.in.append(buf.data(), static_cast<std::size_t>(n));
  if (c.phase == Phase::Idle) {
    c.phase = Phase::Head;
    set_deadline(c, now + limits.header_timeout);
  }
  parse(c, now);
}

void Server::Loop::parse(Conn& c, Steady::time_point now) {
  const ParseResult r = parse_request(c.in, limits.parser, request);
  if (r.state == ParseState::Incomplete) {
    if (r.headers_complete && c.phase == Phase::Head) {
      c.phase = Phase::Body;
      set_deadline(c, now + limits.body_timeout);
    }
  } else if (r.state == ParseState::Error) {
    ++stats.bad_requests;
    c.keep_alive = false;
    respond(c, plain(r.status), now);
  } else {
    c.in.erase(0, r.consumed);
    dispatch(c, now);
  }
}

void Server::Loop::dispatch(Conn& c, Steady::time_point now) {
  c.phase = Phase::Handling;
  c.keep_alive = request.keep_alive;
  ++c.requests;
  ++stats.requests;
  watch(c, 0);  // pipelined bytes wait in the socket until this answer is out
  set_deadline(c, now + limits.handler_timeout);
  request.peer = c.peer;
  const Reply reply(mailbox, c.id);
  try {
    handler(request, reply);
  } catch (const std::exception&) {
    reply(plain(500));
  }
}

void Server::Loop::drain(Steady::time_point now) {
  for (auto& [id, response] : mailbox->take()) {
    const auto it = conns.find(id);
    // Gone, or already answered with a 503 after the handler's deadline: nothing to do.
    if (it != conns.end() && it->second.phase == Phase::Handling) respond(it->second, response, now);
  }
}

void Server::Loop::respond(Conn& c, const Response& r, Steady::time_point now) {
  c.close_after = !c.keep_alive || c.requests >= limits.max_requests_per_connection;
  c.out = serialize(r, !c.close_after);
  c.sent = 0;
  c.phase = Phase::Writing;
  set_deadline(c, now + limits.write_timeout);
  on_writable(c, now);
}

void Server::Loop::on_writable(Conn& c, Steady::time_point now) {
  while (c.sent < c.out.size()) {
    const ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      watch(c, EPOLLOUT);
      return;
    } else {
      close(c.id);
      return;
    }
  }
  finish(c, now);
}

void Server::Loop::finish(Conn& c, Steady::time_point now) {
  if (c.close_after) {
    ::shutdown(c.fd.get(), SHUT_WR);
    close(c.id);
    return;
  }
  c.out.clear();
  if (c.out.capacity() > kKeepCapacity) c.out.shrink_to_fit();
  if (c.in.capacity() > kKeepCapacity && c.in.size() < kKeepCapacity) c.in.shrink_to_fit();
  watch(c, EPOLLIN);
  if (c.in.empty()) {
    c.phase = Phase::Idle;
    set_deadline(c, now + limits.idle_timeout);
    return;
  }
  c.phase = Phase::Head;  // a pipelined request already arrived
  set_deadline(c, now + limits.header_timeout);
  parse(c, now);
}

void Server::Loop::expire(Steady::time_point now) {
  while (!timers.empty() && timers.begin()->first <= now) {
    const std::uint64_t id = timers.begin()->second;
    timers.erase(timers.begin());
    Conn& c = conns.at(id);
    c.timed = false;
    ++stats.timed_out;
    c.keep_alive = false;
    if (c.phase == Phase::Idle || c.phase == Phase::Writing || (c.phase == Phase::Head && c.in.empty())) {
      close(id);
    } else {
      respond(c, plain(c.phase == Phase::Handling ? 503 : 408), now);
    }
  }
}

void Server::Loop::set_deadline(Conn& c, Steady::time_point deadline) {
  if (c.timed) timers.erase({c.deadline, c.id});
  c.deadline = deadline;
  c.timed = true;
  timers.emplace(deadline, c.id);
}

void Server::Loop::watch(Conn& c, std::uint32_t events) {
  if (c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
  c.events = events;
}

void Server::Loop::close(std::uint64_t id) {
  const auto it = conns.find(id);
  if (it == conns.end()) return;
  const Conn& c = it->second;
  if (c.timed) timers.erase({c.deadline, id});
  if (auto pc = per_client.find(c.peer.ip()); pc != per_client.end() && --pc->second == 0) per_client.erase(pc);
  --stats.open;
  conns.erase(it);  // closes the descriptor, which leaves the epoll set
}

int Server::Loop::timeout_ms(Steady::time_point now) const {
  std::optional<Steady::time_point> next = paused_until;
  if (!timers.empty() && (!next || timers.begin()->first < *next)) next = timers.begin()->first;
  if (!next) return -1;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
  return static_cast<int>(std::clamp<std::int64_t>(wait, 0, 60'000));
}

Server::Server(const common::SocketAddress& address, Handler handler, ServerLimits limits)
    : stats_(std::make_unique<ServerStats>()) {
  auto fd = open_tcp_listener(address, {}, 1024);
  if (!fd) throw std::runtime_error("cannot bind " + address.to_string() + ": " + std::strerror(fd.error()));
  auto local = local_address(fd->get());
  port_ = local ? local->port() : address.port();
  loop_ = std::make_unique<Loop>(std::move(*fd), std::move(handler), limits, *stats_);
}

Server::~Server() {
  stop();
}

void Server::start() {
  thread_ = std::thread([this] { loop_->run(); });
}

void Server::stop() {
  const std::uint64_t one = 1;
  if (loop_) (void)!::write(loop_->wake.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

}  // namespace dnsfence::io::http
