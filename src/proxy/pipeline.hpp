#pragma once
// The proxy's core, with no I/O: a received query goes through the gate, the name rules and the
// original-destination policy, and comes out as a Decision — answer locally (the reply is built
// into the caller's buffer), forward (to the trusted upstreams or to the allowlisted resolver the
// client asked), or drop. Workers call it for every query; tests call it without sockets.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/net.hpp"
#include "dns/message.hpp"
#include "dns/response.hpp"
#include "policy/rule_set.hpp"

namespace dnsfence::proxy {

/// What the worker must do.
enum class Verdict : std::uint8_t { AnswerLocal, Forward, Drop };

/// Why, for metrics. Closed.
enum class Action : std::uint8_t {
  Forward,   // to the trusted upstreams
  Pass,      // to the allowlisted resolver the client asked
  Local,     // a name rule (canary or operator name) answered or dropped it
  Refuse,    // a destination rule refused it
  Invalid,   // FORMERR, NOTIMP or BADVERS from the gate
  NotQuery,  // dropped by the gate: too short, or a response
  Full,      // the in-flight table was full (set by the worker, never by handle())
  Timeout,   // the upstream did not answer in time (set by the worker)
};
inline constexpr std::size_t kActions = 8;
/// "forward", "pass", "local", "refuse", "invalid", "not_query", "full", "timeout".
std::string_view action_name(Action a) noexcept;

/// A received query. The packet must outlive the Decision (the message refers to it).
struct Query {
  dns::Bytes packet;
  dns::Transport transport = dns::Transport::Udp;
  std::optional<common::IpAddress> original_destination;  // tproxy mode only
};

/// Where a local answer is written.
struct Reply {
  std::span<std::uint8_t> buffer;
  std::size_t size = 0;  // set when the decision is AnswerLocal
};

struct Decision {
  Verdict verdict = Verdict::Drop;
  Action action = Action::NotQuery;
  policy::DestinationClass destination = policy::DestinationClass::Unknown;
  const policy::NameRule* rule = nullptr;  // the name rule that matched, if any
  std::optional<dns::Message> message;     // the parsed query, for Forward and AnswerLocal
};

/// Decides one query against a rule set. Holds only a pointer to the current snapshot, which the
/// worker replaces between batches.
class Pipeline {
 public:
  explicit Pipeline(const policy::RuleSet* rules) noexcept : rules_(rules) {}
  void set_rules(const policy::RuleSet* rules) noexcept { rules_ = rules; }

  /// Never allocates, never throws. Name rules apply before destinations, so canaries are
  /// answered locally whoever the client asked.
  Decision handle(const Query& query, Reply& reply) const noexcept;

 private:
  const policy::RuleSet* rules_;
};

/// Writes a SERVFAIL reply to `query` (when the upstream timed out or the table is full); returns
/// its size, 0 if it could not be built.
std::size_t build_servfail(const dns::Message& query, dns::Transport transport, std::span<std::uint8_t> out) noexcept;

}  // namespace dnsfence::proxy
