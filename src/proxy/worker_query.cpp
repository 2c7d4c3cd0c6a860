// The one path every query takes, whatever transport it came by: the Pipeline decides; a local
// answer, a SERVFAIL when nothing can carry the query (table full, no connection), or a forward
// (over UDP for UDP clients, over a pooled upstream connection for TCP clients).

#include <algorithm>
#include <cstdio>
#include <string>

#include "proxy/worker.hpp"

namespace dnsfence::proxy {
namespace {

void set_id(std::span<std::uint8_t> packet, std::uint16_t id) noexcept {
  packet[0] = static_cast<std::uint8_t>(id >> 8);
  packet[1] = static_cast<std::uint8_t>(id);
}

// The EDNS payload size an upstream may answer with over UDP: no larger than what serve can
// receive (io::kMaxDatagram), or its answer would be cut by recvmmsg and lost.
void clamp_udp_size(std::span<std::uint8_t> packet, const dns::Message& m) noexcept {
  const auto& edns = m.edns();
  if (!edns || edns->udp_size <= io::kMaxDatagram || edns->rdata_offset < 8) return;
  // OPT: owner (root) TYPE CLASS=payload size TTL RDLENGTH RDATA; CLASS is 8 octets before RDATA.
  const std::size_t at = edns->rdata_offset - 8;
  packet[at] = static_cast<std::uint8_t>(io::kMaxDatagram >> 8);
  packet[at + 1] = static_cast<std::uint8_t>(io::kMaxDatagram & 0xff);
}

}  // namespace

void Worker::handle_query(const Origin& o, dns::Bytes packet, Reply r) noexcept {
  const Query q{packet, o.transport, o.original ? std::optional(o.original->ip()) : std::nullopt};
  const Decision d = pipeline_.handle(q, r);
  if (reports_ != nullptr) reports_->offer(q, d);  // the witness zone's queries only, to the reporter
  stats_.count(o.transport, d.action, d.destination);
  if (config_.debug_log) debug_log(d, o.transport);
  if (d.rule != nullptr && d.rule->index < kMaxRuleCounters) stats_.rule_hits[d.rule->index].add();
  if (d.verdict == Verdict::Forward) {
    if (forward(d, o, packet)) return;
    if (config_.when_full == common::WhenFull::Drop) {
      if (o.transport == dns::Transport::Tcp) tcp_.finish(o.conn);
      return;
    }
    stats_.count(o.transport, Action::Full, d.destination);
    r.size = build_servfail(*d.message, o.transport, r.buffer);
  }
  if (d.verdict == Verdict::Drop || r.size == 0) {
    if (o.transport == dns::Transport::Tcp) tcp_.finish(o.conn);
    return;
  }
  answer(o, std::span<const std::uint8_t>(r.buffer.data(), r.size));
}

void Worker::answer(const Origin& o, std::span<const std::uint8_t> reply) noexcept {
  if (o.transport == dns::Transport::Tcp) {
    tcp_.reply(o.conn, reply);
  } else if (o.original) {
    queue_reply(o.reply_fd, reply, *o.client, o.original);
  } else {
    replies_fd_ = o.reply_fd;  // the reply was built in place in the batch's next datagram
    replies_->commit(reply.size(), *o.client);
  }
}

bool Worker::forward(const Decision& d, const Origin& o, dns::Bytes packet) noexcept {
  auto s = start_forward(d, o.original);
  if (!s) return false;
  Slot& slot = table_[*s];
  if (o.transport == dns::Transport::Tcp) {
    slot.kind = SlotKind::Tcp;
    slot.tcp_connection = o.conn.index;
    slot.tcp_generation = o.conn.generation;
  } else {
    slot.kind = SlotKind::Udp;
    slot.client = *o.client;
    slot.listener = o.listener;
  }
  const bool sent =
      o.transport == dns::Transport::Tcp ? send_upstream_tcp(*s, packet) : send_upstream_udp(*s, packet, &*d.message);
  if (!sent) release(*s);
  return sent;
}

std::optional<std::uint32_t> Worker::start_forward(const Decision& d,
                                                   const std::optional<common::SocketAddress>& original) noexcept {
  std::optional<std::uint8_t> upstream = kPassUpstream;
  if (d.action != Action::Pass || !original) upstream = pool_.pick(random());
  if (!upstream) return std::nullopt;
  auto s = table_.acquire(random(), now_, now_ + config_.upstream_timeout.count() * 1'000'000);
  if (!s) return std::nullopt;
  Slot& slot = table_[*s];
  slot.upstream = *upstream;
  // A pass-through query goes to the resolver the client asked, at the port it asked (53: the
  // firewall intercepts no other): target() is the original destination.
  slot.has_original = original.has_value();
  if (original) slot.original = *original;
  slot.client_id = d.message->header().id;
  store_question(slot, *d.message);
  slot.destination = static_cast<std::uint8_t>(d.destination);
  if (*upstream != kPassUpstream) stats_.upstream_sent[*upstream].add();
  return s;
}

bool Worker::send_upstream_udp(std::uint32_t s, dns::Bytes query, const dns::Message* parsed) noexcept {
  Slot& slot = table_[s];
  if (query.size() > io::kMaxDatagram) return false;
  const common::SocketAddress& to = target(slot);
  const auto family = static_cast<std::uint8_t>(to.is_v4() ? 0 : 1);
  const bool pass = slot.upstream == kPassUpstream;
  const auto socket = sockets_.take(family, pass);
  if (!socket) return false;
  const std::size_t k = family * 2U + (pass ? 1U : 0U);
  auto& batch = *forwards_[k];
  // A batch leaves from one socket: flush it when the socket changes (a fresh port) or it is full.
  if (batch.size() > 0 && (batch.full() || forward_socket_[k] != *socket))
    stats_.send_errors.add(batch.flush(sockets_.fd(forward_socket_[k])));
  forward_socket_[k] = *socket;
  auto buf = batch.next();
  std::copy(query.begin(), query.end(), buf.begin());
  set_id(buf, slot.upstream_id);
  if (parsed != nullptr) clamp_udp_size(buf, *parsed);  // same offsets: the copy is the same message
  slot.socket = *socket;
  slot.on_udp_socket = true;
  batch.commit(query.size(), to);
  return true;
}

bool Worker::send_upstream_tcp(std::uint32_t s, dns::Bytes query) noexcept {
  // The copy carries the slot's upstream ID; the client's query (in the TCP layer's buffer) stays.
  const std::span<std::uint8_t> copy(scratch_.data(), query.size());
  std::copy(query.begin(), query.end(), copy.begin());
  set_id(copy, table_[s].upstream_id);
  return streams_.send(s, target(table_[s]), copy, now_);
}

void Worker::debug_log(const Decision& d, dns::Transport t) const noexcept {
  // Only with debug_log = true: the one place query names are ever written anywhere.
  try {
    std::string name = "-";
    std::uint16_t type = 0;
    if (d.message && d.message->question()) {
      name = dns::to_text(d.message->packet(), d.message->question()->name);
      type = d.message->question()->qtype;
    }
    std::fprintf(stderr, "query worker=%u transport=%s name=%s type=%u action=%s destination=%s\n", index_,
                 t == dns::Transport::Udp ? "udp" : "tcp", name.c_str(), type,
                 std::string(action_name(d.action)).c_str(), std::string(policy::class_name(d.destination)).c_str());
  } catch (...) {
    std::fputs("query (debug log line failed)\n", stderr);  // a log line is not worth failing a query for
  }
}

}  // namespace dnsfence::proxy
