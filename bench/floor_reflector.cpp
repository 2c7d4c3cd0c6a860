// floor_reflector: the cheapest possible local DNS answer, the yardstick for `dnsfence serve`
// answering a canary name itself. It parses nothing: it sets QR and RA, sets RCODE to NXDOMAIN
// (keeping opcode, RD and CD) and sends the datagram straight back. Single-threaded, batched with
// recvmmsg/sendmmsg. With --blackhole it reads and discards instead: the never-answering upstream
// of the harness's in-flight memory test. Stops cleanly on SIGINT/SIGTERM; counters on stderr.
//
//   floor_reflector --listen 127.0.0.1:5300 [--blackhole]
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string_view>

#include "floor_common.hpp"

namespace dnsfence::bench {
namespace {

constexpr std::uint8_t kQr = 0x80;             // flags byte 2: QR
constexpr std::uint8_t kKeepOpcodeRd = 0x79;   // flags byte 2: opcode (0x78) and RD (0x01)
constexpr std::uint8_t kRa = 0x80;             // flags byte 3: RA
constexpr std::uint8_t kKeepCd = 0x10;         // flags byte 3: CD
constexpr std::uint8_t kRcodeNxdomain = 0x03;  // flags byte 3: RCODE 3

struct Counters {
  std::uint64_t answered = 0;
  std::uint64_t discarded = 0;  // blackhole mode, a response, or too short
  std::uint64_t dropped = 0;    // refused by a full socket buffer
};

// Turns the batch's queries into NXDOMAIN responses in place and sends them back.
void reflect(int fd, Batch& batch, bool blackhole, Counters& counters) {
  unsigned n = 0;
  do {
    n = batch.receive(fd);
    for (unsigned i = 0; i < n; ++i) {
      const auto len = batch.in[i].msg_len;
      std::uint8_t* p = batch.buf[i].data();
      if (blackhole || len < kHeaderSize || (p[2] & kQr) != 0) {  // never answer a response
        ++counters.discarded;
        continue;
      }
      p[2] = static_cast<std::uint8_t>(kQr | (p[2] & kKeepOpcodeRd));
      p[3] = static_cast<std::uint8_t>(kRa | (p[3] & kKeepCd) | kRcodeNxdomain);
      batch.queue(i, len, &batch.from[i]);
    }
    counters.answered += batch.out_count;
    counters.dropped += batch.flush(fd);
  } while (n == kBatch);
}

int usage() {
  std::fputs("usage: floor_reflector --listen ADDR:PORT [--blackhole]\n", stderr);
  return 2;
}

}  // namespace
}  // namespace dnsfence::bench

int main(int argc, char** argv) {
  using namespace dnsfence::bench;
  std::optional<Endpoint> listen;
  bool blackhole = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--listen" && i + 1 < argc) {
      listen = parse_endpoint(argv[++i]);
    } else if (flag == "--blackhole") {
      blackhole = true;
    } else {
      return usage();
    }
  }
  if (!listen) return usage();
  const sigset_t wait_mask = block_stop_signals();
  const int fd = bind_udp(*listen);
  if (fd < 0) return 1;
  auto batch = std::make_unique<Batch>();
  Counters counters;
  std::array<pollfd, 1> fds{{{fd, POLLIN, 0}}};
  while (wait_readable(fds, wait_mask)) reflect(fd, *batch, blackhole, counters);
  std::fprintf(stderr, "floor_reflector: answered %llu discarded %llu dropped %llu\n",
               static_cast<unsigned long long>(counters.answered), static_cast<unsigned long long>(counters.discarded),
               static_cast<unsigned long long>(counters.dropped));
  close(fd);
  return g_stop != 0 ? 0 : 1;
}
