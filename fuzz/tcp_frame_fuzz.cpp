// libFuzzer target: DNS-over-TCP framing (io/frame) as io::TcpServer and UpstreamStreams use it.
// The first byte sets the size of the reads the stream arrives in; the rest is the stream. The
// messages taken read by read, with only the incomplete rest kept in between, must be exactly
// those of the whole stream, and what is kept at the end exactly its incomplete tail.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "io/frame.hpp"

namespace {

std::vector<std::vector<std::uint8_t>> all_messages(std::span<std::uint8_t> stream, std::size_t& offset) {
  std::vector<std::vector<std::uint8_t>> out;
  while (auto m = dnsfence::io::next_message(stream, offset)) out.emplace_back(m->begin(), m->end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnsfence::io;
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 97;
  std::vector<std::uint8_t> stream(data + 1, data + size);
  std::size_t whole_offset = 0;
  const auto want = all_messages(stream, whole_offset);

  static std::vector<std::uint8_t> scratch(kScratchSize);
  StreamIn in;
  std::vector<std::vector<std::uint8_t>> got;
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    const std::size_t n = std::min(chunk, stream.size() - pos);
    const std::size_t kept = in.restore(scratch);
    if (kept + n > scratch.size()) std::abort();  // a kept rest is always shorter than one frame
    std::memcpy(scratch.data() + kept, stream.data() + pos, n);
    std::size_t offset = 0;
    auto part = all_messages(std::span(scratch).first(kept + n), offset);
    got.insert(got.end(), part.begin(), part.end());
    if (!in.keep(std::span(scratch).subspan(offset, kept + n - offset))) return 0;
    if (in.has_message()) std::abort();  // everything complete was taken
  }
  if (got != want || in.size() != stream.size() - whole_offset) std::abort();
  return 0;
}
