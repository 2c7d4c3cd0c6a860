#pragma once
// Watching DNS on every interface at once. PacketSource hides the platform (libpcap on Linux's
// "any" device here); decode_frame() turns one captured frame into an Observation and is pure.

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "detector/model.hpp"

namespace dnsfence::detector {

/// What a finished capture saw.
struct CaptureResult {
  bool ok = false;
  std::string error;  // why the capture failed or was incomplete
  std::vector<Observation> observations;
  std::size_t packets = 0;         // frames matched by the filter
  std::size_t kernel_dropped = 0;  // frames the kernel dropped (buffer full)
};

/// A background capture of DNS packets (udp/tcp 53 and 853).
class PacketSource {
 public:
  virtual ~PacketSource() = default;
  /// Starts capturing; when it returns successfully, every later packet is seen. Fails with the
  /// reason (no permission, no such device); never throws.
  virtual std::expected<void, std::string> start() = 0;
  /// Returns every packet that arrived before the call (within ~150 ms), and stops. Call once,
  /// after a successful start().
  virtual CaptureResult stop() = 0;
};

/// libpcap on `device` ("any": every interface, with the interface index from DLT_LINUX_SLL2),
/// a 4 MiB kernel ring of whole packets, at most `max_observations` kept. With a non-empty
/// `pcap_file`, every matched frame is also written there (the evidence for --pcap).
std::unique_ptr<PacketSource> make_pcap_source(std::string device, std::string pcap_file, std::size_t max_observations);

/// Decodes one frame of link type `dlt` (DLT_LINUX_SLL2, DLT_LINUX_SLL, DLT_EN10MB or DLT_RAW):
/// IPv4/IPv6, UDP/TCP, ports 53 (a DNS message, over TCP with its length prefix) or 853 (a DoT
/// connection attempt: TCP SYN only; a DoQ connection attempt: a UDP datagram holding a QUIC
/// Initial long header, v1, v2 or a draft version). Absent for anything else or a payload that does
/// not parse.
/// `ifname` is left empty: the caller names the interface.
std::optional<Observation> decode_frame(int dlt, std::span<const std::uint8_t> frame, double time);

}  // namespace dnsfence::detector
