#include "detector/libpcap.hpp"

#include "common/dynlib.hpp"

namespace dnsfence::detector {
namespace {

LibPcap load() {
  const common::DynamicLibrary lib("libpcap.so.0.8", "libpcap0.8");
  LibPcap f{};
  lib.resolve("pcap_create", f.create);
  lib.resolve("pcap_set_snaplen", f.set_snaplen);
  lib.resolve("pcap_set_buffer_size", f.set_buffer_size);
  lib.resolve("pcap_set_timeout", f.set_timeout);
  lib.resolve("pcap_activate", f.activate);
  lib.resolve("pcap_set_datalink", f.set_datalink);
  lib.resolve("pcap_datalink", f.datalink);
  lib.resolve("pcap_compile", f.compile);
  lib.resolve("pcap_setfilter", f.setfilter);
  lib.resolve("pcap_freecode", f.freecode);
  lib.resolve("pcap_setnonblock", f.setnonblock);
  lib.resolve("pcap_get_selectable_fd", f.get_selectable_fd);
  lib.resolve("pcap_dispatch", f.dispatch);
  lib.resolve("pcap_stats", f.stats);
  lib.resolve("pcap_geterr", f.geterr);
  lib.resolve("pcap_close", f.close);
  lib.resolve("pcap_dump_open", f.dump_open);
  lib.resolve("pcap_dump", f.dump);
  lib.resolve("pcap_dump_close", f.dump_close);
  return f;
}

}  // namespace

const LibPcap& libpcap() {
  static const LibPcap f = load();  // a failed load throws and is tried again next time
  return f;
}

}  // namespace dnsfence::detector
