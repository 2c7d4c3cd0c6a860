#pragma once
// libpcap, loaded on first use: only leaktest captures packets. serve and the witness never map it
// or the libdbus it brings (about 230 KiB resident; see common/dynlib.hpp).

#include <pcap/pcap.h>

namespace dnsfence::detector {

/// The libpcap functions the capture uses.
struct LibPcap {
  decltype(&::pcap_create) create;
  decltype(&::pcap_set_snaplen) set_snaplen;
  decltype(&::pcap_set_buffer_size) set_buffer_size;
  decltype(&::pcap_set_timeout) set_timeout;
  decltype(&::pcap_activate) activate;
  decltype(&::pcap_set_datalink) set_datalink;
  decltype(&::pcap_datalink) datalink;
  decltype(&::pcap_compile) compile;
  decltype(&::pcap_setfilter) setfilter;
  decltype(&::pcap_freecode) freecode;
  decltype(&::pcap_setnonblock) setnonblock;
  decltype(&::pcap_get_selectable_fd) get_selectable_fd;
  decltype(&::pcap_dispatch) dispatch;
  decltype(&::pcap_stats) stats;
  decltype(&::pcap_geterr) geterr;
  decltype(&::pcap_close) close;
  decltype(&::pcap_dump_open) dump_open;
  decltype(&::pcap_dump) dump;
  decltype(&::pcap_dump_close) dump_close;
};

/// Loads libpcap.so.0.8 the first time (thread-safe) and returns its functions, the same ones for
/// the life of the process. Throws std::runtime_error naming the library and the reason.
const LibPcap& libpcap();

}  // namespace dnsfence::detector
