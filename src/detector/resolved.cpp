#include "detector/resolved.hpp"

#include <net/if.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "detector/libsdbus.hpp"

namespace dnsfence::detector {
namespace {

constexpr std::uint64_t kCallTimeoutUsec = 1'000'000;

std::string link_name(int ifindex) {
  if (ifindex <= 0) return "";
  std::array<char, IF_NAMESIZE> buf{};
  return if_indextoname(static_cast<unsigned>(ifindex), buf.data()) != nullptr ? buf.data() : std::to_string(ifindex);
}

// Reads one (iiay) entry; returns false at the end of the array or on error.
bool read_entry(const LibSdBus& sd, sd_bus_message* m, Inventory& out) {
  if (sd.message_enter_container(m, 'r', "iiay") <= 0) return false;
  int ifindex = 0;
  int family = 0;
  const void* data = nullptr;
  std::size_t size = 0;
  if (sd.message_read(m, "ii", &ifindex, &family) < 0 || sd.message_read_array(m, 'y', &data, &size) < 0) {
    return false;
  }
  sd.message_exit_container(m);
  std::optional<IpAddress> a;
  if (family == AF_INET && size == 4) {
    in_addr v4{};
    std::memcpy(&v4, data, 4);
    a = IpAddress::from_v4(v4);
  } else if (family == AF_INET6 && size == 16) {
    in6_addr v6{};
    std::memcpy(&v6, data, 16);
    a = IpAddress::from_v6(v6);
  }
  if (a) out.resolvers.push_back(Resolver{*a, "systemd-resolved", link_name(ifindex)});
  return true;
}

class ResolvedSource final : public InventorySource {
 public:
  [[nodiscard]] std::string name() const override { return "systemd-resolved"; }
  void collect(Inventory& out) override {
    const LibSdBus* loaded = nullptr;
    try {
      loaded = &libsdbus();
    } catch (const std::runtime_error& e) {
      out.notes.push_back(std::string("systemd-resolved: ") + e.what());
      return;
    }
    const LibSdBus& sd = *loaded;
    sd_bus* bus = nullptr;
    if (sd.open_system(&bus) < 0) {
      out.notes.push_back("systemd-resolved: no system D-Bus");
      return;
    }
    sd.set_method_call_timeout(bus, kCallTimeoutUsec);
    sd_bus_error err = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    const int r = sd.get_property(bus, "org.freedesktop.resolve1", "/org/freedesktop/resolve1",
                                  "org.freedesktop.resolve1.Manager", "DNS", &err, &reply, "a(iiay)");
    if (r < 0) {
      out.notes.push_back(std::string("systemd-resolved: ") +
                          (err.message != nullptr ? err.message : std::strerror(-r)));
    } else if (sd.message_enter_container(reply, 'a', "(iiay)") > 0) {
      while (read_entry(sd, reply, out)) {
      }
      sd.message_exit_container(reply);
    }
    sd.error_free(&err);
    sd.message_unref(reply);
    sd.unref(bus);
  }
};

}  // namespace

std::unique_ptr<InventorySource> make_resolved_source() {
  return std::make_unique<ResolvedSource>();
}

}  // namespace dnsfence::detector
