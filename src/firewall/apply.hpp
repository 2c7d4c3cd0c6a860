#pragma once
// Applies, removes and inspects the ruleset in the kernel of the network namespace the process
// runs in: through libnftables (one transaction) or iptables-restore, plus tproxy's policy routing.
// Control plane: failures throw std::runtime_error with the tool's message
// ("libnftables: <message>", "iptables-restore: exit 1").

#include <cstdint>
#include <string>
#include <vector>

#include "firewall/model.hpp"

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

/// Replaces table inet dnsfence (or the DNSFENCE-* chains) atomically and sets up or removes the
/// tproxy policy routing. Idempotent.
void apply_ruleset(const Ruleset& rs, common::FirewallBackend backend);
/// Deletes exactly dnsfence's table (or chains and jumps) and policy routing for `route`. Idempotent.
void remove_ruleset(common::FirewallBackend backend, const PolicyRoute& route);

struct RuleCounter {
  std::string chain;
  std::string name;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

struct Status {
  bool applied = false;
  std::vector<RuleCounter> counters;
  std::vector<std::string> drift;  // human-readable differences, empty when in sync
};

/// Reads table inet dnsfence (nft backend) and compares it with `expected`. Throws on libnftables
/// errors other than "no such table".
Status read_status(const Ruleset& expected);

/// Adds or deletes one allowlist element in place (sets allow_v4 / allow_v6); throws if the table
/// is not applied or the element is refused.
void change_allowlist(const common::Prefix& p, bool add);
/// The allowlist elements currently in the kernel ("198.51.100.53", "10.0.0.0/8").
std::vector<std::string> list_allowlist();

/// Runs argv (no shell); returns the exit status (127 if it could not be started).
int run_program(const std::vector<std::string>& argv, const std::string& stdin_text = "");

}  // namespace dnsfence::firewall
