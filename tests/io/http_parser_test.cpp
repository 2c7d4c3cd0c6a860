// The request parser on its own: what it accepts, what it refuses and with which status, and that
// every prefix of a valid request is "incomplete", never an error.
#include "io/http_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dnsfence::io::http {
namespace {

struct Parsed {
  ParseResult result;
  Request request;
};

Parsed parse(const std::string& text, ParserLimits limits = {}) {
  Parsed p;
  p.result = parse_request(text, limits, p.request);
  return p;
}

int status_of(const std::string& text, ParserLimits limits = {}) {
  const Parsed p = parse(text, limits);
  EXPECT_EQ(p.result.state, ParseState::Error) << text;
  return p.result.status;
}

TEST(HttpParser, GetWithHostAndQuery) {
  const std::string text = "GET /runs/abc?x=1 HTTP/1.1\r\nHost: Witness.Example:8053\r\nX-Thing:  a b \r\n\r\nNEXT";
  const Parsed p = parse(text);
  ASSERT_EQ(p.result.state, ParseState::Complete);
  EXPECT_EQ(p.result.consumed, text.size() - 4);  // everything before "NEXT"
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.target, "/runs/abc?x=1");
  EXPECT_EQ(p.request.path, "/runs/abc");
  EXPECT_EQ(p.request.query, "x=1");
  EXPECT_EQ(p.request.host, "witness.example");
  EXPECT_EQ(p.request.header("x-thing"), "a b");
  EXPECT_TRUE(p.request.keep_alive);
  EXPECT_TRUE(p.request.body.empty());
}

TEST(HttpParser, ConsumedStopsAtTheNextPipelinedRequest) {
  const std::string first = "POST /runs HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n\r\n{\"count\": 9}\n";
  const Parsed p = parse(first + "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(p.result.state, ParseState::Complete);
  EXPECT_EQ(p.result.consumed, first.size());
  EXPECT_EQ(p.request.body, "{\"count\": 9}\n");
}

TEST(HttpParser, EveryPrefixOfAValidRequestIsIncomplete) {
  const std::string text = "\r\nPOST /runs HTTP/1.1\r\nHost: [2001:DB8::1]:80\r\nContent-Length: 4\r\n\r\nbody";
  for (std::size_t n = 0; n < text.size(); ++n) {
    const Parsed p = parse(text.substr(0, n));
    EXPECT_EQ(p.result.state, ParseState::Incomplete) << n;
    EXPECT_EQ(p.result.headers_complete, n >= text.size() - 4) << n;
  }
  const Parsed p = parse(text);
  ASSERT_EQ(p.result.state, ParseState::Complete);
  EXPECT_EQ(p.request.host, "[2001:db8::1]");
  EXPECT_EQ(p.request.body, "body");
}

TEST(HttpParser, KeepAliveByVersionAndConnectionHeader) {
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: foo, Keep-Alive\r\n\r\n").request.keep_alive);
  EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n").request.minor_version, 0);
}

TEST(HttpParser, ContentLengthMustBeOneDecimalNumber) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n"), 400);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"), 400);
}

TEST(HttpParser, TransferEncodingIsRefused) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 501);
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400);
}

TEST(HttpParser, MalformedHeadsAreRefused) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n"), 400);  // obs-fold
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400);  // bare LF, refused before the head ends
  EXPECT_EQ(status_of("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400);  // bare CR
  EXPECT_EQ(status_of(std::string("GET / HTTP/1.1\r\nHost: a\0\r\n\r\n", 27)), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);  // absolute form
  EXPECT_EQ(status_of("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(status_of("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1x\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
}

TEST(HttpParser, HostIsRequiredOnceInHttp11) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n"), 400);
  EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n").result.state, ParseState::Complete);
}

TEST(HttpParser, LimitsAnswerBeforeTheBytesArrive) {
  ParserLimits small;
  small.max_request_line = 32;
  small.max_header_bytes = 128;
  small.max_headers = 2;
  small.max_body = 8;
  // A request line that is already too long is refused before its end arrives.
  EXPECT_EQ(status_of("GET /" + std::string(40, 'a'), small), 414);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(120, 'b'), small), 431);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n", small), 431);
  // The body's size is refused from its Content-Length, before any of it is read.
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n", small), 413);
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n12345678", small).result.state,
            ParseState::Complete);
}

}  // namespace
}  // namespace dnsfence::io::http
