#pragma once
// A blocking hiredis connection for the Redis store's writer thread: connect with a deadline,
// pipeline commands (append many, then read every reply), every round trip bounded by a timeout.
// Not thread-safe: one thread owns it. Any I/O error closes the connection (the caller reconnects).

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace dnsfence::witness {

/// Where Redis is: a TCP host and port, or a Unix socket path.
struct RedisEndpoint {
  std::string host;
  std::uint16_t port = 6379;
  std::string unix_path;  // non-empty: a Unix socket
  [[nodiscard]] std::string to_string() const;
};

/// "redis://HOST[:PORT]" (HOST a name, an IPv4 address or [IPv6]) or "unix:/PATH".
std::expected<RedisEndpoint, std::string> parse_redis_endpoint(std::string_view spec);

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept;
};
using RedisReply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisClient {
 public:
  RedisClient() = default;
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  /// Connects (closing any previous connection); false with error() set if it cannot.
  bool connect(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout);
  [[nodiscard]] bool connected() const noexcept { return context_ != nullptr; }
  void close() noexcept;
  /// Queues one command (binary-safe arguments); false if not connected or out of memory.
  bool append(const std::vector<std::string>& args);
  /// Reads the next reply of the queued commands. nullptr on an I/O error (the connection is
  /// then closed); a Redis error reply is returned as such (type REDIS_REPLY_ERROR).
  RedisReply read();
  /// append + read.
  RedisReply command(const std::vector<std::string>& args);
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

 private:
  redisContext* context_ = nullptr;
  std::string error_;
};

/// Reply accessors that tolerate any shape: the value (a string, status or error text), or a fallback.
bool reply_is_error(const redisReply* r) noexcept;
std::string_view reply_string(const redisReply* r) noexcept;
long long reply_integer(const redisReply* r, long long fallback) noexcept;
std::size_t reply_elements(const redisReply* r) noexcept;
const redisReply* reply_element(const redisReply* r, std::size_t i) noexcept;

}  // namespace dnsfence::witness
