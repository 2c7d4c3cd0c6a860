#pragma once
// systemd-resolved's per-link DNS servers over D-Bus (sd-bus), one InventorySource.

#include <memory>

#include "detector/inventory.hpp"

namespace dnsfence::detector {

/// Reads org.freedesktop.resolve1.Manager's DNS property (a(iiay): ifindex, family, address);
/// ifindex 0 is a global server. Absent bus or service: a note, never an error. Every D-Bus call
/// is bounded by a 1 s timeout.
std::unique_ptr<InventorySource> make_resolved_source();

}  // namespace dnsfence::detector
