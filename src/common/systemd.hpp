#pragma once
// systemd service notifications (sd_notify). Without NOTIFY_SOCKET (not started by systemd with
// Type=notify) every call does nothing.

namespace dnsfence::common {

/// Tells systemd the service is ready (READY=1) with a status line. Never throws.
void notify_ready(const char* status) noexcept;
/// Tells systemd the service is stopping (STOPPING=1). Never throws.
void notify_stopping() noexcept;

}  // namespace dnsfence::common
