#include "io/http.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "io/socket.hpp"

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

// The Content-Length of a reply's header block (nullopt if absent or malformed).
std::optional<std::size_t> content_length(std::string_view headers) {
  const std::string h = lower(headers);
  const auto at = h.find("\r\ncontent-length:");
  if (at == std::string::npos) return std::nullopt;
  std::size_t pos = at + 17;
  while (pos < h.size() && h[pos] == ' ') ++pos;
  std::size_t v = 0;
  const auto [end, ec] = std::from_chars(h.data() + pos, h.data() + h.size(), v);
  if (ec != std::errc() || (end != h.data() + h.size() && *end != '\r' && *end != ' ')) return std::nullopt;
  return v;
}

}  // namespace

std::string_view reason(int status) noexcept {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::optional<std::string_view> Request::header(std::string_view lowercase_name) const noexcept {
  for (const auto& h : headers)
    if (h.name == lowercase_name) return std::string_view(h.value);
  return std::nullopt;
}

void allow_any_origin(Response& response) {
  response.headers.push_back(Header{"Access-Control-Allow-Origin", "*"});
  response.headers.push_back(Header{"Timing-Allow-Origin", "*"});
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
  if (auto length = content_length(std::string_view(reply).substr(0, header_end)))
    r.body.resize(std::min(r.body.size(), *length));
  return r;
}

}  // namespace dnsfence::io::http
