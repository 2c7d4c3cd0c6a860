#pragma once
// Resolver inventory: every resolver the system may use and where it came from, and the tunnel.
// Sources sit behind InventorySource so that macOS (scutil) and Windows (GetAdaptersAddresses)
// can add theirs; the text parsers are pure functions, unit-tested on fixtures.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detector/model.hpp"
#include "detector/routes.hpp"

namespace dnsfence::detector {

/// One place resolvers are configured. collect() appends what it finds; a source that is absent
/// (no systemd-resolved, no NetworkManager) appends a note instead and never throws.
class InventorySource {
 public:
  virtual ~InventorySource() = default;
  /// A short name for notes and reports ("resolv.conf").
  [[nodiscard]] virtual std::string name() const = 0;
  virtual void collect(Inventory& out) = 0;
};

/// The `nameserver` lines of a resolv.conf text, in order, without their zone ("%eth0"); lines that
/// are comments or not addresses are skipped.
std::vector<IpAddress> parse_resolv_conf(std::string_view text);
/// The same, each with its zone ("fe80::1%eth0" -> {fe80::1, "eth0"}; "" when absent): a link-local
/// resolver is reachable only on that link, and probes need it.
std::vector<std::pair<IpAddress, std::string>> parse_resolv_conf_zones(std::string_view text);
/// The leased address of the last lease in a dhclient leases file (`fixed-address`), of a
/// systemd-networkd lease (`ADDRESS=`) or of a udhcpc environment dump (`ip=`); empty if none.
std::optional<IpAddress> lease_address(std::string_view text, std::string_view kind);

/// The addresses configured on this network namespace's interfaces, as (interface, address).
using LocalAddresses = std::function<std::vector<std::pair<std::string, IpAddress>>()>;
/// getifaddrs(): what this process's network namespace has.
std::vector<std::pair<std::string, IpAddress>> namespace_addresses();

/// The lease files of one DHCP client in `dir` ("dhclient", "systemd-networkd", "udhcpc"). Lease
/// directories are not per network namespace (`ip netns exec` isolates only the network and
/// resolv.conf), so a lease counts only when its leased address is on one of this namespace's
/// interfaces (on the lease's own interface when the file names it); any other is another
/// namespace's or a stale one, and becomes a note. The origin of each resolver says which lease and
/// why it applies.
std::unique_ptr<InventorySource> make_lease_source(std::string dir, std::string kind, LocalAddresses local);
/// The `option domain-name-servers` of the last lease in a dhclient leases file.
std::vector<IpAddress> parse_dhclient_leases(std::string_view text);
/// The addresses of `key=a b c` in a KEY=VALUE file: systemd-networkd leases (key "DNS") and an
/// environment dump of a udhcpc script (key "dns").
std::vector<IpAddress> parse_env_lease(std::string_view text, std::string_view key);

/// The Linux sources: resolv.conf at `resolv_conf`, systemd-resolved (D-Bus), NetworkManager
/// (nmcli), and lease files of dhclient (/var/lib/dhcp), systemd-networkd
/// (/run/systemd/netif/leases) and udhcpc environment dumps (/run/udhcpc/*.env).
std::vector<std::unique_ptr<InventorySource>> linux_sources(const std::string& resolv_conf);

/// Runs every source; duplicates (same address, origin and link) are kept once.
Inventory collect_inventory(const std::vector<std::unique_ptr<InventorySource>>& sources);

/// The network an interface address belongs to (host bits cleared), from getifaddrs()'s address and
/// netmask, IPv4 or IPv6 ("fd00:8::2" with a /64 mask -> fd00:8::/64); absent for other families.
std::optional<common::Prefix> interface_prefix(const sockaddr* addr, const sockaddr* netmask);

/// Finds the tunnel: `declared` (--tunnel) when given, else the interface of the kernel's route
/// for a public address if it is a tun/wireguard device, else the first such device that is up.
/// Fills its addresses. Absent when nothing qualifies (the classifier reports that).
std::optional<Tunnel> detect_tunnel(const std::string& declared, RouteOracle& routes);

}  // namespace dnsfence::detector
