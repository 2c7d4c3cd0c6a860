#pragma once
// Applies, removes and inspects the ruleset in the kernel of the network namespace the process
// runs in: through libnftables (one transaction) or iptables-restore, plus tproxy's policy routing.
// Control plane: failures throw std::runtime_error with the tool's message
// ("libnftables: <message>", "iptables-restore: exit 1").

#include <cstdint>
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

/// Replaces table inet dnsfence (or the dnsfence-* ipsets, each swapped in whole, then the DNSFENCE-*
/// chains, one commit per table) atomically and sets up or removes the
/// tproxy policy routing. Idempotent.
void apply_ruleset(const Ruleset& rs, common::FirewallBackend backend);
/// Deletes exactly dnsfence's table (or chains, jumps and ipsets) and policy routing for `route`. Idempotent.
void remove_ruleset(common::FirewallBackend backend, const PolicyRoute& route);

/// Reads dnsfence's table (nft) or chains and ipsets (iptables) and compares them with
/// `expected`. Throws on tool errors other than "not applied".
Status read_status(const Ruleset& expected, common::FirewallBackend backend);

/// Adds or deletes one allowlist element in place (allowlist_set(p): nft set element or ipset
/// entry); throws if the ruleset is not applied or the element is refused. Adding an element
/// already present succeeds.
void change_allowlist(const common::Prefix& p, bool add, common::FirewallBackend backend);
/// The allowlist elements currently in the kernel ("198.51.100.53", "10.0.0.0/8").
std::vector<std::string> list_allowlist(common::FirewallBackend backend);

/// Runs argv (no shell); returns the exit status (127 if it could not be started).
int run_program(const std::vector<std::string>& argv, const std::string& stdin_text = "");
/// Runs argv (no shell, stderr passed through); returns its standard output; sets `status`.
std::string capture_program(const std::vector<std::string>& argv, int& status);

}  // namespace dnsfence::firewall
