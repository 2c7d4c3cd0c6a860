// floor_relay: the cheapest possible UDP DNS forwarder, the yardstick for `dnsfence serve`'s
// forwarding path. It parses nothing: it rewrites the 16-bit query ID to a slot of a fixed table
// that remembers (client address, original ID), forwards over one connected UDP socket, and on
// reply restores the ID and sends the datagram back to the client. Single-threaded, batched with
// recvmmsg/sendmmsg. Stops cleanly on SIGINT/SIGTERM and prints its counters on stderr.
//
//   floor_relay --listen 127.0.0.1:5300 --upstream 127.0.0.1:5301
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string_view>

#include "floor_common.hpp"

namespace dnsfence::bench {
namespace {

/// One in-flight query: who asked, and with which ID. 32 bytes, so the table is 2 MiB of address
/// space of which only the touched slots become resident.
struct Slot {
  Endpoint client;
  std::uint16_t client_id = 0;
  bool used = false;
};

struct Counters {
  std::uint64_t forwarded = 0;
  std::uint64_t returned = 0;
  std::uint64_t overwritten = 0;  // a slot reused before its reply came back
  std::uint64_t unmatched = 0;    // a reply for no (or an already answered) slot
  std::uint64_t dropped = 0;      // too short, or refused by a full socket buffer
};

class Relay {
 public:
  Relay(int listen_fd, int upstream_fd) : listen_fd_(listen_fd), upstream_fd_(upstream_fd) {}

  /// Serves until a stop signal; false on a fatal poll error.
  bool run(const sigset_t& wait_mask) {
    std::array<pollfd, 2> fds{{{listen_fd_, POLLIN, 0}, {upstream_fd_, POLLIN, 0}}};
    while (wait_readable(fds, wait_mask)) {
      if ((fds[0].revents & POLLIN) != 0) forward_queries();
      if ((fds[1].revents & POLLIN) != 0) return_replies();
    }
    return g_stop != 0;
  }

  const Counters& counters() const { return counters_; }

 private:
  // Drains the listening socket a batch at a time; a short batch means it is empty.
  void forward_queries() {
    unsigned n = 0;
    do {
      n = batch_.receive(listen_fd_);
      for (unsigned i = 0; i < n; ++i) {
        const auto len = batch_.in[i].msg_len;
        if (len < kHeaderSize) {
          ++counters_.dropped;
          continue;
        }
        const std::uint16_t id = next_id_++;
        Slot& slot = (*table_)[id];
        if (slot.used) ++counters_.overwritten;
        slot = {batch_.from[i], load_u16(batch_.buf[i].data()), true};
        store_u16(batch_.buf[i].data(), id);
        batch_.queue(i, len, nullptr);
      }
      counters_.forwarded += batch_.out_count;
      counters_.dropped += batch_.flush(upstream_fd_);
    } while (n == kBatch);
  }

  void return_replies() {
    unsigned n = 0;
    do {
      n = batch_.receive(upstream_fd_);
      for (unsigned i = 0; i < n; ++i) {
        const auto len = batch_.in[i].msg_len;
        if (len < kHeaderSize) {
          ++counters_.dropped;
          continue;
        }
        Slot& slot = (*table_)[load_u16(batch_.buf[i].data())];
        if (!slot.used) {
          ++counters_.unmatched;
          continue;
        }
        slot.used = false;
        store_u16(batch_.buf[i].data(), slot.client_id);
        batch_.queue(i, len, &slot.client);
      }
      counters_.returned += batch_.out_count;
      counters_.dropped += batch_.flush(listen_fd_);
    } while (n == kBatch);
  }

  int listen_fd_;
  int upstream_fd_;
  std::uint16_t next_id_ = 0;  // wraps: the table is indexed by every possible 16-bit ID
  std::unique_ptr<std::array<Slot, 65536>> table_ = std::make_unique<std::array<Slot, 65536>>();
  std::unique_ptr<Batch> batch_ptr_ = std::make_unique<Batch>();
  Batch& batch_ = *batch_ptr_;
  Counters counters_;
};

int usage() {
  std::fputs("usage: floor_relay --listen ADDR:PORT --upstream ADDR:PORT\n", stderr);
  return 2;
}

}  // namespace
}  // namespace dnsfence::bench

int main(int argc, char** argv) {
  using namespace dnsfence::bench;
  std::optional<Endpoint> listen;
  std::optional<Endpoint> upstream;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--listen") {
      listen = parse_endpoint(argv[i + 1]);
    } else if (flag == "--upstream") {
      upstream = parse_endpoint(argv[i + 1]);
    } else {
      return usage();
    }
  }
  if (!listen || !upstream || argc % 2 == 0) return usage();
  const sigset_t wait_mask = block_stop_signals();
  const int listen_fd = bind_udp(*listen);
  const int upstream_fd = connect_udp(*upstream);
  if (listen_fd < 0 || upstream_fd < 0) return 1;
  Relay relay(listen_fd, upstream_fd);
  const bool ok = relay.run(wait_mask);
  const auto& c = relay.counters();
  std::fprintf(stderr, "floor_relay: forwarded %llu returned %llu overwritten %llu unmatched %llu dropped %llu\n",
               static_cast<unsigned long long>(c.forwarded), static_cast<unsigned long long>(c.returned),
               static_cast<unsigned long long>(c.overwritten), static_cast<unsigned long long>(c.unmatched),
               static_cast<unsigned long long>(c.dropped));
  close(listen_fd);
  close(upstream_fd);
  return ok ? 0 : 1;
}
