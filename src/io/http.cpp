#include "io/http.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace dnsfence::io::http {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) noexcept {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline) noexcept {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

bool write_all(int fd, std::string_view data, Clock::time_point deadline) noexcept {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

// Appends what is readable to `buf` (at most `max` in all); 0 at EOF, -1 on error or timeout.
ssize_t read_some(int fd, std::string& buf, std::size_t max, Clock::time_point deadline) noexcept {
  if (!wait_for(fd, POLLIN, deadline)) return -1;
  std::array<char, 4096> chunk{};
  const ssize_t n = recv(fd, chunk.data(), std::min(chunk.size(), max - std::min(max, buf.size())), MSG_DONTWAIT);
  if (n > 0) buf.append(chunk.data(), static_cast<std::size_t>(n));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;  // spurious wakeup: try again
  return n;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The Content-Length of a header block (nullopt if absent, -1 if malformed).
std::optional<long> content_length(std::string_view headers) {
  const std::string h = lower(headers);
  if (h.find("\r\ntransfer-encoding:") != std::string::npos) return -1;  // chunked: not supported
  const auto at = h.find("\r\ncontent-length:");
  if (at == std::string::npos) return std::nullopt;
  std::size_t pos = at + 17;
  while (pos < h.size() && h[pos] == ' ') ++pos;
  long v = 0;
  const auto [end, ec] = std::from_chars(h.data() + pos, h.data() + h.size(), v);
  if (ec != std::errc() || v < 0 || (end != h.data() + h.size() && *end != '\r')) return -1;
  return v;
}

std::string serialize(const Response& r) {
  return "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason(r.status)) +
         "\r\nContent-Type: " + r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) +
         "\r\nConnection: close\r\n\r\n" + r.body;
}

Response error(int status) {
  return {status, "text/plain", std::string(reason(status)) + "\n"};
}

// Reads and parses one request; on failure, the error response to send.
std::expected<Request, Response> read_request(int fd, const Limits& limits) {
  const auto deadline = Clock::now() + limits.read_timeout;
  std::string buf;
  std::size_t header_end = std::string::npos;
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() >= limits.max_header) return std::unexpected(error(431));
    if (read_some(fd, buf, limits.max_header, deadline) <= 0) return std::unexpected(error(408));
  }
  const std::string_view head(buf.data(), header_end);
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.") ||
      line.substr(sp1 + 1, 1) != "/")
    return std::unexpected(error(400));
  Request req{std::string(line.substr(0, sp1)), std::string(line.substr(sp1 + 1, sp2 - sp1 - 1)), {}};
  const auto length = content_length(line_end == std::string_view::npos ? "" : head.substr(line_end));
  if (length && *length < 0) return std::unexpected(error(400));
  const auto want = static_cast<std::size_t>(length.value_or(0));
  if (want > limits.max_body) return std::unexpected(error(413));
  req.body = buf.substr(header_end + 4);
  while (req.body.size() < want)
    if (read_some(fd, req.body, want, deadline) <= 0) return std::unexpected(error(408));
  req.body.resize(want);
  return req;
}

}  // namespace

std::string_view reason(int status) noexcept {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

Server::Server(const common::SocketAddress& address, Handler handler, Limits limits)
    : wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), handler_(std::move(handler)), limits_(limits) {
  auto fd = open_tcp_listener(address, {}, 16);
  if (!fd) throw std::runtime_error("cannot bind " + address.to_string() + ": " + std::strerror(fd.error()));
  listener_ = std::move(*fd);
  auto local = local_address(listener_.get());
  port_ = local ? local->port() : address.port();
}

Server::~Server() {
  stop();
}

void Server::start() {
  thread_ = std::thread([this] { serve(); });
}

void Server::stop() {
  const std::uint64_t one = 1;
  if (wake_.valid()) (void)!write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void Server::serve() noexcept {
  for (;;) {
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) return;
    if ((p[1].revents & POLLIN) != 0) return;
    if ((p[0].revents & POLLIN) == 0) continue;
    Fd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (conn.valid()) answer(conn.get());
  }
}

void Server::answer(int fd) noexcept {
  try {
    auto req = read_request(fd, limits_);
    Response res = req ? handler_(*req) : req.error();
    write_all(fd, serialize(res), Clock::now() + limits_.read_timeout);
  } catch (...) {
    // Even the error reply could not be built (out of memory): a fixed one needs no allocation.
    write_all(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
              Clock::now() + limits_.read_timeout);
  }
}

std::expected<Response, std::string> request(std::string_view base, std::string_view method, std::string_view path,
                                             std::string_view body, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string_view host = base;
  if (host.starts_with("http://")) host.remove_prefix(7);
  while (host.ends_with('/')) host.remove_suffix(1);
  auto address = common::SocketAddress::parse(host, 80);
  if (!address) return std::unexpected("bad URL '" + std::string(base) + "': " + address.error());
  auto fd = connect_tcp(*address);
  if (!fd) return std::unexpected(address->to_string() + ": " + std::strerror(fd.error()));
  int err = 0;
  socklen_t len = sizeof err;
  if (!wait_for(fd->get(), POLLOUT, deadline)) return std::unexpected(address->to_string() + ": connect timed out");
  getsockopt(fd->get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return std::unexpected(address->to_string() + ": " + std::strerror(err));
  const std::string req = std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(host) +
                          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\nConnection: close\r\n\r\n" + std::string(body);
  if (!write_all(fd->get(), req, deadline)) return std::unexpected(address->to_string() + ": cannot send the request");
  std::string reply;
  for (ssize_t n = 1; n > 0;) {
    n = read_some(fd->get(), reply, 16 << 20, deadline);
    if (n < 0) return std::unexpected(address->to_string() + ": no complete reply before the timeout");
  }
  const auto header_end = reply.find("\r\n\r\n");
  int status = 0;
  if (reply.starts_with("HTTP/1.") && reply.size() > 12) std::from_chars(reply.data() + 9, reply.data() + 12, status);
  if (header_end == std::string::npos || status < 100) return std::unexpected(address->to_string() + ": bad reply");
  Response r{status, {}, reply.substr(header_end + 4)};
  if (auto length = content_length(std::string_view(reply).substr(0, header_end)); length && *length >= 0)
    r.body.resize(std::min(r.body.size(), static_cast<std::size_t>(*length)));
  return r;
}

}  // namespace dnsfence::io::http
