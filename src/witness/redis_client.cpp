#include "witness/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <charconv>

namespace dnsfence::witness {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) noexcept {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

std::string RedisEndpoint::to_string() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  const bool v6 = host.find(':') != std::string::npos;
  return "redis://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::expected<RedisEndpoint, std::string> parse_redis_endpoint(std::string_view spec) {
  RedisEndpoint e;
  if (spec.starts_with("unix:")) {
    e.unix_path = std::string(spec.substr(5));
    if (!e.unix_path.starts_with('/')) return std::unexpected("expected unix:/ABSOLUTE/PATH");
    return e;
  }
  if (!spec.starts_with("redis://"))
    return std::unexpected("expected \"memory\", \"redis://HOST[:PORT]\" or \"unix:/PATH\", not '" + std::string(spec) +
                           "'");
  std::string_view rest = spec.substr(8);
  std::string_view port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::unexpected("unterminated [IPv6 address]");
    e.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return std::unexpected("junk after [IPv6 address]");
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    const auto colon = rest.find(':');
    e.host = std::string(rest.substr(0, colon));
    port = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
  }
  if (e.host.empty() || e.host.find_first_of("/@?#") != std::string::npos)
    return std::unexpected("expected redis://HOST[:PORT] (no user, password, path or database)");
  if (!port.empty()) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || end != port.data() + port.size() || v == 0 || v > 65535)
      return std::unexpected("bad port '" + std::string(port) + "'");
    e.port = static_cast<std::uint16_t>(v);
  }
  return e;
}

void ReplyDeleter::operator()(redisReply* r) const noexcept {
  freeReplyObject(r);
}

RedisClient::~RedisClient() {
  close();
}

bool RedisClient::connect(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout) {
  close();
  const timeval tv = to_timeval(timeout);
  redisContext* c = endpoint.unix_path.empty() ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, tv)
                                               : redisConnectUnixWithTimeout(endpoint.unix_path.c_str(), tv);
  if (c == nullptr) {
    error_ = "out of memory";
    return false;
  }
  if (c->err != 0 || redisSetTimeout(c, tv) != REDIS_OK) {
    error_ = c->errstr;
    redisFree(c);
    return false;
  }
  if (endpoint.unix_path.empty()) redisEnableKeepAlive(c);
  context_ = c;
  error_.clear();
  return true;
}

void RedisClient::close() noexcept {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

bool RedisClient::append(const std::vector<std::string>& args) {
  if (context_ == nullptr) return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data()) != REDIS_OK) {
    error_ = context_->errstr;
    close();
    return false;
  }
  return true;
}

RedisReply RedisClient::read() {
  if (context_ == nullptr) return nullptr;
  void* reply = nullptr;
  if (redisGetReply(context_, &reply) != REDIS_OK || reply == nullptr) {
    error_ = context_->err != 0 ? context_->errstr : "no reply";
    close();
    return nullptr;
  }
  return RedisReply(static_cast<redisReply*>(reply));
}

RedisReply RedisClient::command(const std::vector<std::string>& args) {
  return append(args) ? read() : nullptr;
}

bool reply_is_error(const redisReply* r) noexcept {
  return r == nullptr || r->type == REDIS_REPLY_ERROR;
}

std::string_view reply_string(const redisReply* r) noexcept {
  if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_ERROR))
    return {};
  return std::string_view(r->str, r->len);
}

long long reply_integer(const redisReply* r, long long fallback) noexcept {
  if (r == nullptr) return fallback;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  long long v = fallback;
  const std::string_view s = reply_string(r);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty() ? v : fallback;
}

std::size_t reply_elements(const redisReply* r) noexcept {
  return r != nullptr && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}

const redisReply* reply_element(const redisReply* r, std::size_t i) noexcept {
  return i < reply_elements(r) ? r->element[i] : nullptr;
}

}  // namespace dnsfence::witness
