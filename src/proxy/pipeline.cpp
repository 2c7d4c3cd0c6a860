#include "proxy/pipeline.hpp"

#include "dns/gate.hpp"

namespace dnsfence::proxy {
namespace {

std::size_t build_local(const dns::Message& q, policy::NameAction a, dns::Transport t,
                        std::span<std::uint8_t> out) noexcept {
  dns::Rcode rcode = dns::Rcode::NxDomain;
  switch (a) {
    case policy::NameAction::NxDomain:
      rcode = dns::Rcode::NxDomain;
      break;
    case policy::NameAction::NoData:
      rcode = dns::Rcode::NoError;
      break;
    case policy::NameAction::Refused:
      rcode = dns::Rcode::Refused;
      break;
    case policy::NameAction::Drop:
      return 0;
  }
  auto n = dns::build_response(q, rcode, nullptr, t, out);
  return n ? *n : 0;
}

}  // namespace

std::string_view action_name(Action a) noexcept {
  switch (a) {
    case Action::Forward:
      return "forward";
    case Action::Pass:
      return "pass";
    case Action::Local:
      return "local";
    case Action::Refuse:
      return "refuse";
    case Action::Invalid:
      return "invalid";
    case Action::NotQuery:
      return "not_query";
    case Action::Full:
      return "full";
    case Action::Timeout:
      return "timeout";
  }
  return "?";
}

Decision Pipeline::handle(const Query& query, Reply& reply) const noexcept {
  Decision d;
  reply.size = 0;
  const dns::GateResult g = dns::gate(query.packet);
  if (g.action == dns::GateAction::Drop) return d;
  d.destination = rules_->classify(query.original_destination);
  if (g.action != dns::GateAction::Accept) {
    d.action = Action::Invalid;
    auto n = dns::build_gate_reply(g, query.transport, reply.buffer);
    reply.size = n ? *n : 0;
    d.verdict = reply.size > 0 ? Verdict::AnswerLocal : Verdict::Drop;
    return d;
  }
  d.message = g.message;
  if (const auto* rule = rules_->match_name(*d.message)) {
    d.action = Action::Local;
    d.rule = rule;
    reply.size = build_local(*d.message, rule->action, query.transport, reply.buffer);
    d.verdict = reply.size > 0 ? Verdict::AnswerLocal : Verdict::Drop;
    return d;
  }
  switch (rules_->route(query.original_destination)) {
    case policy::Route::Upstreams:
      d.action = Action::Forward;
      d.verdict = Verdict::Forward;
      break;
    case policy::Route::Pass:
      d.action = Action::Pass;
      d.verdict = Verdict::Forward;
      break;
    case policy::Route::Refuse:
      d.action = Action::Refuse;
      reply.size = build_local(*d.message, policy::NameAction::Refused, query.transport, reply.buffer);
      d.verdict = reply.size > 0 ? Verdict::AnswerLocal : Verdict::Drop;
      break;
  }
  return d;
}

std::size_t build_servfail(const dns::Message& query, dns::Transport transport, std::span<std::uint8_t> out) noexcept {
  auto n = dns::build_response(query, dns::Rcode::ServFail, nullptr, transport, out);
  return n ? *n : 0;
}

}  // namespace dnsfence::proxy
