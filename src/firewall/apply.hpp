#pragma once
// Applies, removes and inspects the ruleset in the kernel of the network namespace the process
// runs in: through libnftables (one transaction) or the iptables tools, plus tproxy's policy
// routing. Control plane: failures throw std::runtime_error with the tool's own message
// ("libnftables: <message>", "iptables-restore: exit 1: <its stderr>").

#include <string>
#include <vector>

#include "firewall/model.hpp"
#include "firewall/status.hpp"

struct nft_ctx;  // libnftables

namespace dnsfence::firewall {

/// A libnftables context; runs nft scripts and returns their (JSON or text) output.
class Nft {
 public:
  /// Throws if libnftables cannot allocate a context.
  explicit Nft(bool json = false);
  ~Nft();
  Nft(const Nft&) = delete;
  Nft& operator=(const Nft&) = delete;
  /// Runs `script` as one transaction; returns its output. Throws "libnftables: <error>".
  std::string run(const std::string& script);

 private:
  ::nft_ctx* ctx_;
};

/// What an apply that succeeded wants the operator to know.
struct ApplyReport {
  std::vector<std::string> notes;  ///< e.g. a disabled address family whose policy routing was skipped
};

/// Makes the kernel hold `rs`, all or nothing. First, before touching anything: the names are
/// checked (check_names), every helper program is found, the families are detected (IPv6 disabled:
/// its tproxy policy routing is skipped, with a note) and the policy routing is checked for
/// conflicts (the mark routed elsewhere, foreign routes in the table: refused). Then the policy
/// routing and the ruleset (nft: replaces table inet dnsfence in one transaction; iptables: swaps
/// each dnsfence-* ipset in whole, then the DNSFENCE-* chains, one commit per table, then the jumps).
/// If any step fails, every earlier step is reverted, newest first, and std::runtime_error says
/// what failed and that it was rolled back (or what could not be). Idempotent.
ApplyReport apply_ruleset(const Ruleset& rs, common::FirewallBackend backend);

/// Deletes exactly dnsfence's table (or chains, jumps and ipsets) and policy routing for `route`. Idempotent.
void remove_ruleset(common::FirewallBackend backend, const PolicyRoute& route);

/// Reads dnsfence's table (nft) or chains and ipsets (iptables), and in tproxy mode the policy
/// routing of each enabled family, and compares them with `expected`. Throws on tool errors other
/// than "not applied".
Status read_status(const Ruleset& expected, common::FirewallBackend backend);

/// Adds or deletes one allowlist element in place (allowlist_set(p): nft set element or ipset
/// entry); throws if the ruleset is not applied or the element is refused. Adding an element
/// already present succeeds.
void change_allowlist(const common::Prefix& p, bool add, common::FirewallBackend backend);
/// The allowlist elements currently in the kernel ("198.51.100.53", "10.0.0.0/8").
std::vector<std::string> list_allowlist(common::FirewallBackend backend);

}  // namespace dnsfence::firewall
