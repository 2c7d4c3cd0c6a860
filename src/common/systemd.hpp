#pragma once
// systemd service notifications (sd_notify(3)'s protocol, spoken without libsystemd). Without
// NOTIFY_SOCKET (not started by systemd with Type=notify or notify-reload) every call does nothing.

namespace dnsfence::common {

/// Tells systemd the service is ready (READY=1), with a status line unless `status` is null.
/// Also ends a reload. Never throws.
void notify_ready(const char* status = nullptr) noexcept;
/// Tells systemd a reload has begun (RELOADING=1 with MONOTONIC_USEC, as systemd 253+ wants);
/// notify_ready() ends it. Never throws.
void notify_reloading() noexcept;
/// Tells systemd the service is stopping (STOPPING=1). Never throws.
void notify_stopping() noexcept;

}  // namespace dnsfence::common
