#include "common/systemd.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace dnsfence::common {

void notify_ready(const char* status) noexcept {
  try {
    const std::string message = std::string("READY=1\nSTATUS=") + status;
    (void)sd_notify(0, message.c_str());
  } catch (...) {
    (void)sd_notify(0, "READY=1");  // no memory for the status: readiness matters more
  }
}

void notify_stopping() noexcept {
  (void)sd_notify(0, "STOPPING=1");
}

}  // namespace dnsfence::common
