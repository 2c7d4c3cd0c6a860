#pragma once
// What the leak-test authority's record proves, name by name (docs/leaktest.md, "Evidence rules"):
// which addresses asked it for each probe name, which of them are the VPN's egress, whether the
// names asked of one resolver were answered through the VPN, and which never reached it at all.
// Pure: built from the captured queries and the witness's record.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "detector/model.hpp"

namespace dnsfence::detector {

/// One plain-DNS probe query that left this machine (loopback excluded).
struct SentQuery {
  std::string name;  // normalized
  IpAddress to;
  bool inside = false;  // on the tunnel interface
};

/// Who answered the names asked of one resolver, as far as the authority can tell.
enum class Answerer : std::uint8_t {
  NotAtAuthority,  // none of the names asked only of it reached the authority
  Vpn,             // every one that did came from the VPN's egress
  Elsewhere,       // at least one came from an address that is not the VPN's egress
  Unknown,         // they came from addresses other than its own, and no VPN egress is known
};

/// The authority's record joined with what was sent where.
class NameEvidence {
 public:
  /// `vpn`: the VPN's resolvers. Without a witness every query about the authority is unanswerable
  /// (has_witness() false).
  NameEvidence(const std::vector<SentQuery>& sent, const std::optional<WitnessResults>& witness,
               const std::vector<IpAddress>& vpn);

  [[nodiscard]] bool has_witness() const noexcept { return has_witness_; }
  /// The VPN's egress: every address that asked the authority for a name that was sent only to the
  /// VPN's resolvers, inside the tunnel. Empty when no such name reached it.
  [[nodiscard]] const std::vector<IpAddress>& vpn_egress() const noexcept { return egress_; }
  /// The names every captured query of which went to `x` (names asked of several resolvers are no
  /// evidence about any one of them).
  [[nodiscard]] std::vector<std::string> only_asked_of(const IpAddress& x) const;
  /// The addresses the authority saw asking for `name`; empty if it never reached the authority.
  [[nodiscard]] std::vector<IpAddress> asked_by(const std::string& name) const;
  /// Who answered the names asked only of `x`; `from` receives the addresses the authority saw for
  /// them (for the report).
  [[nodiscard]] Answerer answerer(const IpAddress& x, std::vector<IpAddress>* from = nullptr) const;

 private:
  bool has_witness_ = false;
  std::map<std::string, std::vector<SentQuery>> sent_;      // name -> its queries
  std::map<std::string, std::vector<IpAddress>> asked_by_;  // name -> addresses at the authority
  std::vector<IpAddress> egress_;
};

}  // namespace dnsfence::detector
