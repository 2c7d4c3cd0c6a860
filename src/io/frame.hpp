#pragma once
// DNS-over-TCP framing (RFC 1035 4.2.2, RFC 7766): every message is preceded by its length in two
// octets. The only thing `io` knows about DNS. StreamIn keeps, between reads, just the bytes that
// do not form a complete message yet (or that the owner did not take yet): reads go into one
// scratch buffer per event loop, so an idle connection holds no buffer at all and a large one is
// released once used. StreamOut queues framed messages only when the socket does not take them at
// once, and releases a large queue once it has drained. Nothing here throws.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace dnsfence::io {

/// Two octets of length and the largest message.
inline constexpr std::size_t kMaxFrame = 2 + 65535;
/// Scratch buffers for reading must hold one whole frame and one more read after it.
inline constexpr std::size_t kReadChunk = 16384;
inline constexpr std::size_t kScratchSize = kMaxFrame + kReadChunk;
/// Buffers larger than this are released once empty (one large message must not pin memory).
inline constexpr std::size_t kKeepCapacity = 4096;

/// The next complete message of `data` at `offset`, advancing `offset` past it; nullopt when
/// the rest is an incomplete frame.
std::optional<std::span<std::uint8_t>> next_message(std::span<std::uint8_t> data, std::size_t& offset) noexcept;

enum class IoStatus : std::uint8_t {
  Ok,      // progress (read: bytes arrived; write: all queued data sent)
  Again,   // nothing more now (read: no data; write: some still queued)
  Closed,  // read: end of stream from the peer
  Error,   // the connection failed (reset, or out of memory): close it
};

struct ReadResult {
  IoStatus status = IoStatus::Again;
  std::size_t bytes = 0;
};
/// One read() of at most `buffer.size()` octets.
ReadResult read_some(int fd, std::span<std::uint8_t> buffer) noexcept;

/// The bytes of a stream kept between reads.
class StreamIn {
 public:
  /// Copies the kept bytes to the front of `scratch` (at least kScratchSize); returns how many.
  std::size_t restore(std::span<std::uint8_t> scratch) const noexcept;
  /// Keeps `rest` (replacing what was kept). False if memory ran out (the caller closes).
  bool keep(std::span<const std::uint8_t> rest) noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return bytes_.capacity(); }
  /// True when a complete message is kept (it can be taken without reading).
  [[nodiscard]] bool has_message() const noexcept;
  void release() noexcept;

 private:
  std::vector<std::uint8_t> bytes_;
};

/// Framed messages waiting for the socket.
class StreamOut {
 public:
  /// Sends `message` with its length, at once if nothing is queued (one sendmsg), queueing what
  /// the socket does not take. Ok: all sent; Again: some queued; Error: the peer is gone or
  /// memory ran out.
  IoStatus send(int fd, std::span<const std::uint8_t> message) noexcept;
  /// Queues without sending (a connection not established yet). False if memory ran out.
  bool queue(std::span<const std::uint8_t> message) noexcept;
  /// Sends what is queued: Ok when all of it left, Again when some is still queued, Error.
  IoStatus flush(int fd) noexcept;
  [[nodiscard]] std::size_t queued() const noexcept { return bytes_.size() - sent_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return bytes_.capacity(); }
  /// Octets the socket has taken over the stream's life (progress, for stall detection).
  [[nodiscard]] std::uint64_t written() const noexcept { return written_; }
  void release() noexcept;

 private:
  bool append(std::span<const std::uint8_t> data) noexcept;
  void drained() noexcept;

  std::vector<std::uint8_t> bytes_;
  std::size_t sent_ = 0;
  std::uint64_t written_ = 0;
};

}  // namespace dnsfence::io
