#include "io/http_parser.hpp"

#include <algorithm>

namespace dnsfence::io::http {
namespace {

constexpr std::size_t npos = std::string_view::npos;
// 18 digits cannot overflow 64 bits; any body that large is refused by max_body anyway.
constexpr std::size_t kMaxLengthDigits = 18;

ParseResult error(int status, std::string_view why) {
  return ParseResult{ParseState::Error, 0, status, false, why};
}

// RFC 9110 §5.6.2 tchar: the characters of a method or a field name.
bool is_tchar(unsigned char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != npos;
}

bool all_tchar(std::string_view s) noexcept {
  return !s.empty() && std::ranges::all_of(s, [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// A field value may hold visible characters, spaces, tabs and obs-text (>= 0x80), no controls.
bool is_field_char(unsigned char c) noexcept {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::ranges::equal(a, b, [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct Head {
  std::size_t start = 0;   // after any empty lines before the request line (RFC 9112 §2.2)
  std::size_t end = npos;  // after the blank line that ends the head; npos: not yet received
  std::string_view why;    // non-empty: malformed line ends or a NUL
};

// Finds the head's end, checking that every line ends in CRLF as far as bytes have arrived.
Head scan_head(std::string_view data, std::size_t limit) {
  Head h;
  while (data.substr(h.start, 2) == "\r\n") h.start += 2;
  const std::size_t stop = std::min(data.size(), h.start + limit);
  for (std::size_t i = h.start; i < stop; ++i) {
    const char c = data[i];
    if (c == '\0') return Head{h.start, npos, "NUL in the request head"};
    if (c == '\r' && i + 1 < data.size() && data[i + 1] != '\n') return Head{h.start, npos, "bare CR"};
    if (c != '\n') continue;
    if (i == 0 || data[i - 1] != '\r') return Head{h.start, npos, "bare LF"};
    if (i >= h.start + 3 && data.substr(i - 3, 4) == "\r\n\r\n") return Head{h.start, i + 1, {}};
  }
  return h;
}

ParseResult request_line(std::string_view line, Request& out) {
  const auto sp1 = line.find(' ');
  if (sp1 == npos || !all_tchar(line.substr(0, sp1))) return error(400, "bad method");
  const std::string_view rest = line.substr(sp1 + 1);
  const auto sp2 = rest.find(' ');
  if (sp2 == npos) return error(400, "no HTTP version");
  const std::string_view target = rest.substr(0, sp2);
  const std::string_view version = rest.substr(sp2 + 1);
  if (target.empty() || target.front() != '/') return error(400, "request-target not in origin form");
  if (!std::ranges::all_of(target, [](char c) { return c > 0x20 && c < 0x7f; }))
    return error(400, "bad character in the request-target");
  if (version == "HTTP/1.1" || version == "HTTP/1.0") {
    out.minor_version = version.back() - '0';
  } else if (version.size() == 8 && version.starts_with("HTTP/") && version[6] == '.') {
    return error(505, "HTTP version not supported");
  } else {
    return error(400, "bad HTTP version");
  }
  out.method = std::string(line.substr(0, sp1));
  out.target = std::string(target);
  const auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  out.query = q == npos ? std::string() : std::string(target.substr(q + 1));
  return {};
}

ParseResult header_lines(std::string_view lines, const ParserLimits& limits, Request& out) {
  while (!lines.empty()) {
    const auto eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol == npos ? lines.size() : eol + 2);
    if (line.empty() || line.front() == ' ' || line.front() == '\t') return error(400, "obsolete line folding");
    const auto colon = line.find(':');
    if (colon == npos || !all_tchar(line.substr(0, colon))) return error(400, "bad header field name");
    const std::string_view value = trim(line.substr(colon + 1));
    if (!std::ranges::all_of(value, [](char c) { return is_field_char(static_cast<unsigned char>(c)); }))
      return error(400, "control character in a header value");
    if (out.headers.size() == limits.max_headers) return error(431, "too many header fields");
    out.headers.push_back(Header{lowered(line.substr(0, colon)), std::string(value)});
  }
  return {};
}

// "Example.COM:8053" -> "example.com"; "[2001:db8::1]:80" -> "[2001:db8::1]". False if malformed.
bool parse_host(std::string_view value, std::string& host) {
  const bool bracketed = value.starts_with('[');
  const auto end = bracketed ? value.find(']') : value.find(':');
  if (bracketed && end == npos) return false;
  const std::string_view name = value.substr(0, bracketed ? end + 1 : end);
  const std::string_view port = end == npos ? std::string_view() : value.substr(bracketed ? end + 1 : end);
  if (!port.empty() &&
      (port.front() != ':' || !std::ranges::all_of(port.substr(1), [](char c) { return c >= '0' && c <= '9'; })))
    return false;
  const auto ok = [&](char c) {
    return is_tchar(static_cast<unsigned char>(c)) || (bracketed && (c == ':' || c == '[' || c == ']'));
  };
  if (!std::ranges::all_of(name, ok)) return false;
  host = lowered(name);
  return true;
}

bool parse_length(std::string_view value, std::size_t& length) noexcept {
  if (value.empty() || value.size() > kMaxLengthDigits) return false;
  length = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return false;
    length = length * 10 + static_cast<std::size_t>(c - '0');
  }
  return true;
}

bool has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    list.remove_prefix(comma == npos ? list.size() : comma + 1);
  }
  return false;
}

// Framing and the headers the server itself relies on: Content-Length, Transfer-Encoding, Host,
// Connection. Sets `length` to the body's size.
ParseResult semantics(Request& out, std::size_t& length) {
  std::size_t lengths = 0;
  std::size_t hosts = 0;
  bool chunked = false;
  bool close = false;
  bool keep_alive = false;
  length = 0;
  for (const auto& h : out.headers) {
    if (h.name == "content-length") {
      if (++lengths > 1) return error(400, "more than one Content-Length");
      if (!parse_length(h.value, length)) return error(400, "bad Content-Length");
    } else if (h.name == "transfer-encoding") {
      chunked = true;
    } else if (h.name == "host") {
      if (++hosts > 1) return error(400, "more than one Host");
      if (!parse_host(h.value, out.host)) return error(400, "bad Host");
    } else if (h.name == "connection") {
      close = close || has_token(h.value, "close");
      keep_alive = keep_alive || has_token(h.value, "keep-alive");
    }
  }
  if (chunked && lengths > 0) return error(400, "Transfer-Encoding with Content-Length");
  if (chunked) return error(501, "Transfer-Encoding is not supported");
  if (out.minor_version == 1 && hosts == 0) return error(400, "HTTP/1.1 without Host");
  out.keep_alive = out.minor_version == 1 ? !close : keep_alive && !close;
  return {};
}

}  // namespace

ParseResult parse_request(std::string_view data, const ParserLimits& limits, Request& out) {
  const Head head = scan_head(data, limits.max_header_bytes);
  if (!head.why.empty()) return error(400, head.why);
  const auto line_end = data.find("\r\n", head.start);
  const std::size_t line_length = (line_end == npos ? data.size() : line_end) - head.start;
  if (line_length > limits.max_request_line) return error(414, "request line too long");
  if (head.end == npos) {
    if (data.size() - head.start >= limits.max_header_bytes) return error(431, "request head too large");
    return {};
  }
  const common::SocketAddress peer = out.peer;
  out = Request{};
  out.peer = peer;
  const std::string_view line = data.substr(head.start, line_length);
  if (auto r = request_line(line, out); r.state == ParseState::Error) return r;
  const std::size_t fields_at = line_end + 2;
  if (auto r = header_lines(data.substr(fields_at, head.end - 2 - fields_at), limits, out);
      r.state == ParseState::Error)
    return r;
  std::size_t length = 0;
  if (auto r = semantics(out, length); r.state == ParseState::Error) return r;
  if (length > limits.max_body) return error(413, "body too large");
  if (data.size() - head.end < length) return ParseResult{ParseState::Incomplete, 0, 0, true, {}};
  out.body = std::string(data.substr(head.end, length));
  return ParseResult{ParseState::Complete, head.end + length, 0, true, {}};
}

}  // namespace dnsfence::io::http
