#pragma once
// sd-bus from libsystemd, loaded on first use: only leaktest asks systemd-resolved for its
// resolvers. serve and the witness never map libsystemd or the compression libraries it brings
// (about 680 KiB resident; see common/dynlib.hpp).

#include <systemd/sd-bus.h>

namespace dnsfence::detector {

/// The sd-bus functions the resolved inventory uses.
struct LibSdBus {
  decltype(&::sd_bus_open_system) open_system;
  decltype(&::sd_bus_set_method_call_timeout) set_method_call_timeout;
  decltype(&::sd_bus_get_property) get_property;
  decltype(&::sd_bus_message_enter_container) message_enter_container;
  decltype(&::sd_bus_message_exit_container) message_exit_container;
  decltype(&::sd_bus_message_read) message_read;
  decltype(&::sd_bus_message_read_array) message_read_array;
  decltype(&::sd_bus_message_unref) message_unref;
  decltype(&::sd_bus_error_free) error_free;
  decltype(&::sd_bus_unref) unref;
};

/// Loads libsystemd.so.0 the first time (thread-safe) and returns its sd-bus functions, the same
/// ones for the life of the process. Throws std::runtime_error naming the library and the reason.
const LibSdBus& libsdbus();

}  // namespace dnsfence::detector
