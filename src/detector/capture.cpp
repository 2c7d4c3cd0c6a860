#include "detector/capture.hpp"

#include <net/if.h>
#include <poll.h>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>

#include "detector/libpcap.hpp"

namespace dnsfence::detector {
namespace {

constexpr const char* kFilter = "udp port 53 or tcp port 53 or port 853";
constexpr int kBufferBytes = 4 << 20;
// Immediate mode would make libpcap use a TPACKET_V2 ring of snaplen-sized frames: 4 MiB holds
// only ~60 of them, and a burst of probes overflowed it whenever the machine was busy. Without it
// libpcap uses TPACKET_V3, whose blocks pack packets end to end, so the same 4 MiB holds tens of
// thousands of DNS packets captured whole. The kernel hands over a partly filled block when its
// timeout (kBlockMs) expires: stop() waits that long, twice for the timer's slack.
constexpr int kBlockMs = 50;
constexpr int kPollMs = kBlockMs;

class PcapSource final : public PacketSource {
 public:
  PcapSource(std::string device, std::string file, std::size_t max)
      : device_(std::move(device)), file_(std::move(file)), max_(max) {}
  ~PcapSource() override {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    close();
  }
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  std::expected<void, std::string> start() override {
    try {
      lib_ = &libpcap();
    } catch (const std::runtime_error& e) {
      return std::unexpected(e.what());
    }
    std::array<char, PCAP_ERRBUF_SIZE> err{};
    pcap_ = lib_->create(device_.c_str(), err.data());
    if (pcap_ == nullptr) return std::unexpected(std::string("pcap_create: ") + err.data());
    lib_->set_snaplen(pcap_, 65535);
    lib_->set_buffer_size(pcap_, kBufferBytes);
    lib_->set_timeout(pcap_, kPollMs);
    if (lib_->activate(pcap_) < 0) return fail("pcap_activate");
    lib_->set_datalink(pcap_, DLT_LINUX_SLL2);  // best effort: gives the interface index on "any"
    dlt_ = lib_->datalink(pcap_);
    bpf_program prog{};
    if (lib_->compile(pcap_, &prog, kFilter, 1, PCAP_NETMASK_UNKNOWN) < 0) return fail("pcap_compile");
    const int set = lib_->setfilter(pcap_, &prog);
    lib_->freecode(&prog);
    if (set < 0) return fail("pcap_setfilter");
    if (lib_->setnonblock(pcap_, 1, err.data()) < 0) return fail("pcap_setnonblock");
    if (!file_.empty()) {
      dumper_ = lib_->dump_open(pcap_, file_.c_str());
      if (dumper_ == nullptr) return fail("pcap_dump_open");
    }
    thread_ = std::thread([this] { loop(); });
    return {};
  }

  CaptureResult stop() override {
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * kBlockMs));
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    pcap_stat st{};
    if (pcap_ != nullptr && lib_->stats(pcap_, &st) == 0) result_.kernel_dropped = st.ps_drop;
    close();
    result_.ok = result_.error.empty();
    if (result_.kernel_dropped > 0)
      result_.error = std::to_string(result_.kernel_dropped) + " packets dropped by the kernel";
    result_.ok = result_.error.empty();
    return std::move(result_);
  }

 private:
  std::unexpected<std::string> fail(const char* what) {
    std::string e = std::string(what) + ": " + lib_->geterr(pcap_);
    close();
    return std::unexpected(e);
  }

  void close() {
    if (dumper_ != nullptr) lib_->dump_close(dumper_);
    if (pcap_ != nullptr) lib_->close(pcap_);
    dumper_ = nullptr;
    pcap_ = nullptr;
  }

  void loop() {
    pollfd pfd{lib_->get_selectable_fd(pcap_), POLLIN, 0};
    while (!stop_.load()) {
      if (pfd.fd >= 0) ::poll(&pfd, 1, kPollMs);
      if (lib_->dispatch(pcap_, -1, &PcapSource::on_packet, reinterpret_cast<u_char*>(this)) < 0) {
        result_.error = std::string("pcap_dispatch: ") + lib_->geterr(pcap_);
        return;
      }
    }
    // Drain what arrived between the last poll and the stop request.
    lib_->dispatch(pcap_, -1, &PcapSource::on_packet, reinterpret_cast<u_char*>(this));
  }

  static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto* self = reinterpret_cast<PcapSource*>(user);
    self->handle(h, bytes);
  }

  void handle(const pcap_pkthdr* h, const u_char* bytes) {
    const double t = static_cast<double>(h->ts.tv_sec) + static_cast<double>(h->ts.tv_usec) / 1e6;
    if (start_time_ == 0) start_time_ = t;
    ++result_.packets;
    if (dumper_ != nullptr) lib_->dump(reinterpret_cast<u_char*>(dumper_), h, bytes);
    auto o = decode_frame(dlt_, std::span<const std::uint8_t>(bytes, h->caplen), t - start_time_);
    if (!o) return;
    if (result_.observations.size() >= max_) {
      result_.error = "more than " + std::to_string(max_) + " DNS packets: later ones were not kept";
      return;
    }
    o->ifname = ifname(o->ifindex);
    if (duplicate(*o)) return;
    result_.observations.push_back(std::move(*o));
  }

  // Some kernels and virtual devices deliver one packet twice to a socket on "any": the same
  // message on the same interface within a millisecond is counted once (retransmissions are later).
  bool duplicate(const Observation& o) const {
    const auto& v = result_.observations;
    for (auto it = v.rbegin(); it != v.rend() && o.time - it->time < 0.001; ++it) {
      if (it->ifindex == o.ifindex && it->src == o.src && it->dst == o.dst && it->id == o.id &&
          it->is_response == o.is_response && it->qname == o.qname && it->wire == o.wire) {
        return true;
      }
    }
    return false;
  }

  std::string ifname(int index) {
    if (index == 0) return "";
    if (auto it = names_.find(index); it != names_.end()) return it->second;
    std::array<char, IF_NAMESIZE> buf{};
    std::string name =
        if_indextoname(static_cast<unsigned>(index), buf.data()) != nullptr ? buf.data() : std::to_string(index);
    names_.emplace(index, name);
    return name;
  }

  std::string device_;
  std::string file_;
  std::size_t max_;
  const LibPcap* lib_ = nullptr;  // set by start()
  pcap_t* pcap_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  int dlt_ = 0;
  double start_time_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  CaptureResult result_;
  std::map<int, std::string> names_;
};

}  // namespace

std::unique_ptr<PacketSource> make_pcap_source(std::string device, std::string pcap_file,
                                               std::size_t max_observations) {
  return std::make_unique<PcapSource>(std::move(device), std::move(pcap_file), max_observations);
}

}  // namespace dnsfence::detector
