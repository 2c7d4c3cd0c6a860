// The worker's upstream side: answers, timeouts and health checks.

#include <algorithm>

#include "dns/response.hpp"
#include "proxy/tcp_server.hpp"
#include "proxy/worker.hpp"

namespace dnsfence::proxy {
namespace {

std::uint16_t get_id(std::span<const std::uint8_t> p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

void set_id(std::span<std::uint8_t> packet, std::uint16_t id) noexcept {
  packet[0] = static_cast<std::uint8_t>(id >> 8);
  packet[1] = static_cast<std::uint8_t>(id);
}

// "id.server. CH TXT": answered by every resolver from local data (or refused, which is an answer
// too), so probing never triggers recursion.
constexpr std::array<std::uint8_t, 27> kProbe = {0,   0, 0,   0,   0,   1,   0,   0,   0, 0, 0,  0, 2, 'i',
                                                 'd', 6, 's', 'e', 'r', 'v', 'e', 'r', 0, 0, 16, 0, 3};

}  // namespace

void Worker::on_upstream_answers(std::uint8_t socket) noexcept {
  for (int b = 0; b < 8; ++b) {
    const std::size_t n = recv_->recv(upstream_sockets_[socket].get());
    for (std::size_t i = 0; i < n; ++i) {
      if (recv_->truncated(i)) {
        stats_.malformed.add();
        continue;
      }
      handle_answer(socket, recv_->data(i), recv_->peer(i));
    }
    flush();
    if (n < io::kBatch) break;
  }
}

void Worker::handle_answer(std::uint8_t socket, std::span<std::uint8_t> data, const io::Peer& from) noexcept {
  if (data.size() < dns::kHeaderSize) {
    stats_.malformed.add();
    return;
  }
  const auto s = table_.find(get_id(data));
  // Only the server we asked, on the socket we asked from, may answer; anything else is dropped
  // (a spoofing attempt, or a late answer to a query that already timed out).
  // A slot waiting over TCP takes no UDP answer (a TCP query, or one retried after truncation).
  if (!s || table_[*s].kind == SlotKind::Tcp || table_[*s].kind == SlotKind::UdpOverTcp ||
      table_[*s].socket != socket || !table_[*s].target.same(from)) {
    stats_.answers_dropped.add();
    return;
  }
  auto answer = dns::parse(data);
  if (!answer) {
    stats_.malformed.add();  // keep waiting: the genuine answer may still come
    return;
  }
  Slot& slot = table_[*s];
  if (!answer->header().has(dns::flag::QR) || !same_question(slot, *answer)) {
    stats_.answers_dropped.add();
    return;
  }
  if (slot.upstream != kPassUpstream) pool_.answered(slot.upstream);
  if (slot.kind == SlotKind::Probe) {
    pool_.probe_done(slot.upstream);
    table_.release(*s);
    return;
  }
  // Truncated: ask the same server over TCP in the same slot; the full answer goes to the client
  // (cut to its size if it must be). If no connection can be made, relay the truncated answer.
  if (retry_over_tcp(slot, *answer) && tcp_->retry(*s)) {
    stats_.tcp_retries.add();
    return;
  }
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns() - slot.sent_ns) / 1000);
  stats_.observe_latency(us);
  set_id(data, slot.client_id);
  deliver(slot, data);
  table_.release(*s);
}

void Worker::deliver(Slot& slot, std::span<std::uint8_t> answer) noexcept {
  if (slot.kind == SlotKind::Tcp) {
    tcp_->reply(slot.tcp_connection, slot.tcp_generation, answer);
    return;
  }
  send_udp(slot.listener, slot, answer);
}

void Worker::send_udp(std::uint8_t listener, const Slot& slot, std::span<const std::uint8_t> data) noexcept {
  if (slot.has_reply_from) {
    send_from(listener, slot.reply_from.peer(), slot.client.peer(), data);
    return;
  }
  queue_reply(udp_listeners_[listener].fd.get(), data, slot.client.peer(), std::nullopt);
}

void Worker::expire(std::int64_t now) noexcept {
  while (auto s = table_.expired(now)) {
    Slot& slot = table_[*s];
    if (slot.upstream != kPassUpstream) {
      pool_.timed_out(slot.upstream);
      stats_.upstream_timeouts[slot.upstream].add();
    }
    if (slot.kind == SlotKind::Probe) {
      pool_.probe_done(slot.upstream);
    } else {
      const auto transport = slot.kind == SlotKind::Tcp ? dns::Transport::Tcp : dns::Transport::Udp;
      stats_.count(transport, Action::Timeout, static_cast<policy::DestinationClass>(slot.destination));
      if (slot.kind == SlotKind::Tcp) {
        tcp_->timed_out(*s);
      } else {
        if (slot.kind == SlotKind::UdpOverTcp) tcp_->close_upstream_of(*s);
        const std::size_t n = build_servfail(slot, dns::Transport::Udp, std::span<std::uint8_t>(scratch_.data(), 512));
        if (n > 0) send_udp(slot.listener, slot, std::span<const std::uint8_t>(scratch_.data(), n));
      }
    }
    table_.release(*s);
  }
}

bool Worker::send_probe(std::uint8_t upstream) noexcept {
  const std::int64_t now = now_ns();
  auto s = table_.acquire(random(), now, now + config_.upstream_timeout.count() * 1'000'000);
  if (!s) return false;
  Slot& slot = table_[*s];
  slot.kind = SlotKind::Probe;
  slot.upstream = upstream;
  slot.target = CompactAddr::from(pool_[upstream].address);
  if (auto probe = dns::parse(kProbe)) store_question(slot, *probe);
  if (!send_upstream_udp(*s, kProbe)) {
    table_.release(*s);
    return false;
  }
  return true;
}

}  // namespace dnsfence::proxy
