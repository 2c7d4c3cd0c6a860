#include "detector/libsdbus.hpp"

#include "common/dynlib.hpp"

namespace dnsfence::detector {
namespace {

LibSdBus load() {
  const common::DynamicLibrary lib("libsystemd.so.0", "libsystemd0");
  LibSdBus f{};
  lib.resolve("sd_bus_open_system", f.open_system);
  lib.resolve("sd_bus_set_method_call_timeout", f.set_method_call_timeout);
  lib.resolve("sd_bus_get_property", f.get_property);
  lib.resolve("sd_bus_message_enter_container", f.message_enter_container);
  lib.resolve("sd_bus_message_exit_container", f.message_exit_container);
  lib.resolve("sd_bus_message_read", f.message_read);
  lib.resolve("sd_bus_message_read_array", f.message_read_array);
  lib.resolve("sd_bus_message_unref", f.message_unref);
  lib.resolve("sd_bus_error_free", f.error_free);
  lib.resolve("sd_bus_unref", f.unref);
  return f;
}

}  // namespace

const LibSdBus& libsdbus() {
  static const LibSdBus f = load();  // a failed load throws and is tried again next time
  return f;
}

}  // namespace dnsfence::detector
