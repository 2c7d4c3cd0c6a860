// libFuzzer target: the HTTP request parser the witness's and serve's listeners rely on. The input
// is parsed whole, then again as it would arrive in two reads (the first octet picks the split), so
// every "incomplete" path is reached; whatever the parser says must be consistent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/http_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnsfence::io::http;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  ParserLimits limits;
  limits.max_request_line = 256;
  limits.max_header_bytes = 1024;
  limits.max_headers = 16;
  limits.max_body = 512;
  Request whole;
  const ParseResult r = parse_request(text, limits, whole);
  if (r.state == ParseState::Complete && (r.consumed > text.size() || r.consumed == 0)) __builtin_trap();
  if (r.state == ParseState::Error && (r.status < 400 || r.status > 505)) __builtin_trap();
  // A prefix of the input is either incomplete or fails the same way, never "complete" with more.
  const std::size_t cut = text.size() * data[0] / 255;
  Request part;
  const ParseResult p = parse_request(text.substr(0, cut), limits, part);
  if (p.state == ParseState::Complete && r.state == ParseState::Complete && p.consumed != r.consumed) __builtin_trap();
  if (p.state == ParseState::Complete && r.state != ParseState::Complete) __builtin_trap();
  return 0;
}
