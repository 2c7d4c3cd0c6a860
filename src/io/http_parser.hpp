#pragma once
// A strict HTTP/1.1 request parser (RFC 9112) over the bytes a connection has received so far:
// no I/O, no state between calls, so the server re-runs it as bytes arrive and the fuzzer can
// feed it anything. What it refuses, and why (request smuggling and resource exhaustion):
//   - bare CR or LF as a line end, NUL or other control characters in the head      -> 400
//   - a header line starting with whitespace (obs-fold), whitespace before the colon -> 400
//   - two Content-Length headers (even equal), a list or a non-digit length          -> 400
//   - Transfer-Encoding with Content-Length -> 400; Transfer-Encoding alone           -> 501
//   - HTTP/1.1 without exactly one Host, or two Host headers                         -> 400
//   - a request-target not in origin form ("/path")                                  -> 400
//   - a version other than HTTP/1.0 or HTTP/1.1                                      -> 505
//   - a request line over max_request_line -> 414; a head over max_header_bytes or
//     more than max_headers fields -> 431; a body over max_body -> 413 (before reading it)

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/http.hpp"

namespace dnsfence::io::http {

struct ParserLimits {
  std::size_t max_request_line = 2048;
  std::size_t max_header_bytes = 8192;  // request line + headers + the blank line
  std::size_t max_headers = 64;
  std::size_t max_body = 65536;
};

enum class ParseState : std::uint8_t {
  Incomplete,  // valid so far; more bytes needed
  Complete,    // `out` holds a request of `consumed` octets; later bytes are the next request
  Error,       // answer `status` and close the connection
};

struct ParseResult {
  ParseState state = ParseState::Incomplete;
  std::size_t consumed = 0;       // Complete: octets of this request (head + body)
  int status = 0;                 // Error: the status to answer (400, 413, 414, 431, 501, 505)
  bool headers_complete = false;  // the head has arrived (Incomplete: waiting for the body)
  std::string_view why;           // Error: a short reason, for tests and logs
};

/// Parses the request at the start of `data` into `out` (overwritten; `peer` untouched). Never
/// throws on any input except std::bad_alloc; allocates only for the fields it copies into `out`.
ParseResult parse_request(std::string_view data, const ParserLimits& limits, Request& out);

}  // namespace dnsfence::io::http
