#include "proxy/metrics_http.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace dnsfence::proxy {
namespace {

void write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

MetricsHttp::MetricsHttp(const std::string& address, std::function<std::string()> render) : render_(std::move(render)) {
  auto a = common::SocketAddress::parse(address, 9153);
  if (!a) throw std::runtime_error("metrics address: " + a.error());
  auto fd = io::open_tcp_listener(*a, {}, 16);
  if (!fd) throw std::runtime_error("metrics: cannot bind " + a->to_string() + ": " + std::strerror(fd.error()));
  listener_ = std::move(*fd);
}

MetricsHttp::~MetricsHttp() {
  stop();
}

void MetricsHttp::start() {
  thread_ = std::thread([this] { serve(); });
}

void MetricsHttp::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void MetricsHttp::serve() noexcept {
  while (!stop_.load()) {
    pollfd p{listener_.get(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;  // wakes up to notice stop()
    io::Fd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.valid()) answer(conn.get());
  }
}

void MetricsHttp::answer(int fd) noexcept {
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::array<char, 8192> request{};
  std::size_t length = 0;
  while (length < request.size()) {
    const ssize_t n = read(fd, request.data() + length, request.size() - length);
    if (n <= 0) return;
    length += static_cast<std::size_t>(n);
    if (std::string_view(request.data(), length).find("\r\n\r\n") != std::string_view::npos) break;
  }
  const std::string_view text(request.data(), length);
  try {
    if (text.starts_with("GET /metrics ") || text.starts_with("GET /metrics?")) {
      const std::string body = render_();
      write_all(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n");
      write_all(fd, body);
    } else {
      write_all(fd, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
  } catch (...) {
    write_all(fd, "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  }
}

}  // namespace dnsfence::proxy
