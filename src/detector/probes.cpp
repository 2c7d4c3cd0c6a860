#include "detector/probes.hpp"

#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

#include "detector/classify.hpp"
#include "dns/header.hpp"
#include "dns/message.hpp"
#include "dns/name.hpp"

namespace dnsfence::detector {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the descriptor when the probe returns, whatever path it takes.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, ms_left(deadline)) > 0;
}

void read_answer(ProbeResult& r, dns::Bytes reply, std::uint16_t id) {
  auto m = dns::parse(reply);
  if (!m || m->header().id != id || !m->header().has(dns::flag::QR)) {
    r.error = "unrelated or malformed reply";
    return;
  }
  r.answered = true;
  r.rcode = m->rcode();
  for (const auto& rr : m->records(dns::Section::Answer)) {
    const auto rd = dns::rdata(reply, rr);
    if (rr.type == dns::rrtype::A && rd.size() == 4) {
      in_addr a{};
      std::memcpy(&a, rd.data(), 4);
      r.answers.push_back(IpAddress::from_v4(a).to_string());
    } else if (rr.type == dns::rrtype::AAAA && rd.size() == 16) {
      in6_addr a{};
      std::memcpy(&a, rd.data(), 16);
      r.answers.push_back(IpAddress::from_v6(a).to_string());
    }
  }
}

// Receives (UDP) or reads a length-prefixed message (TCP) before the deadline.
std::string receive(int fd, bool tcp, Clock::time_point deadline, std::vector<std::uint8_t>& out) {
  out.assign(65535, 0);
  std::size_t have = 0;
  std::size_t want = tcp ? 2 : 1;
  while (have < want) {
    if (!wait_for(fd, POLLIN, deadline)) return "timeout";
    const ssize_t n = ::recv(fd, out.data() + have, out.size() - have, 0);
    if (n < 0) return std::string("recv: ") + std::strerror(errno);
    if (n == 0) return "connection closed";
    have += static_cast<std::size_t>(n);
    if (!tcp) want = have;
    if (tcp && have >= 2) want = 2 + static_cast<std::size_t>((out[0] << 8) | out[1]);
  }
  if (tcp) out.erase(out.begin(), out.begin() + 2);
  out.resize(tcp ? want - 2 : have);
  return "";
}

}  // namespace

std::string make_probe_name(std::string_view zone, std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string label(16, '0');
  std::uint64_t v = rng();
  for (char& c : label) {
    c = kHex[v & 0xf];
    v >>= 4;
  }
  return label + "." + normalize_name(zone);
}

std::vector<std::uint8_t> build_query(std::string_view name, std::uint16_t id, std::uint16_t qtype) {
  auto n = dns::Name::from_text(name);
  if (!n) throw std::invalid_argument("bad probe name \"" + std::string(name) + "\": " + std::string(n.error()));
  std::vector<std::uint8_t> buf(dns::kHeaderSize + dns::kMaxNameLength + 4);
  dns::Writer w(buf);
  dns::write_header(w, dns::Header{id, dns::flag::RD, 1, 0, 0, 0});
  w.bytes(n->wire());
  w.u16(qtype);
  w.u16(dns::rrclass::IN);
  buf.resize(w.size());
  return buf;
}

ProbeResult system_probe(const std::string& name, std::chrono::milliseconds timeout) {
  ProbeResult r{name, ProbeKind::System, std::nullopt, 0, false, 0, {}, "", ""};
  auto done = std::make_shared<std::promise<ProbeResult>>();
  auto future = done->get_future();
  std::thread([done, r]() mutable {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(r.name.c_str(), nullptr, &hints, &list);
    if (rc == 0) {
      r.answered = true;
      for (addrinfo* i = list; i != nullptr; i = i->ai_next) {
        if (auto a = SocketAddress::from_sockaddr(i->ai_addr, i->ai_addrlen)) r.answers.push_back(a->ip().to_string());
      }
      ::freeaddrinfo(list);
    } else if (rc == EAI_NONAME || rc == EAI_NODATA) {
      r.answered = true;
      r.rcode = 3;
    } else {
      r.error = std::string("getaddrinfo: ") + ::gai_strerror(rc);
    }
    done->set_value(std::move(r));
  }).detach();
  if (future.wait_for(timeout) != std::future_status::ready) {
    r.error = "no answer from getaddrinfo within " + std::to_string(timeout.count()) + " ms";
    return r;
  }
  return future.get();
}

ProbeResult direct_probe(const std::string& name, const IpAddress& target, ProbeKind kind,
                         std::chrono::milliseconds timeout, std::uint16_t port, std::uint16_t qtype,
                         const std::string& link) {
  ProbeResult r{name, kind, target, qtype, false, 0, {}, "", link};
  const bool tcp = kind == ProbeKind::DirectTcp;
  const auto deadline = Clock::now() + timeout;
  std::random_device seed;
  const auto id = static_cast<std::uint16_t>(seed());
  std::vector<std::uint8_t> query = build_query(name, id, qtype);
  if (tcp)
    query.insert(query.begin(),
                 {static_cast<std::uint8_t>(query.size() >> 8), static_cast<std::uint8_t>(query.size())});
  Fd s(::socket(target.family(), (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_storage sa{};
  const socklen_t len = SocketAddress(target, port).to_sockaddr(sa);
  if (!link.empty() && !target.is_v4()) {  // a link-local address means nothing without its link
    const unsigned scope = ::if_nametoindex(link.c_str());
    if (scope == 0) {
      r.error = "link-local " + target.to_string() + "%" + link + ": no interface " + link;
      return r;
    }
    reinterpret_cast<sockaddr_in6*>(&sa)->sin6_scope_id = scope;
  }
  if (s.fd < 0 || (::connect(s.fd, reinterpret_cast<sockaddr*>(&sa), len) < 0 && errno != EINPROGRESS)) {
    r.error = std::string("connect: ") + std::strerror(errno);
    return r;
  }
  if (tcp && !wait_for(s.fd, POLLOUT, deadline)) {
    r.error = "TCP connect timeout after " + std::to_string(timeout.count()) + " ms";
    return r;
  }
  if (::send(s.fd, query.data(), query.size(), MSG_NOSIGNAL) < 0) {
    r.error = std::string("send: ") + std::strerror(errno);
    return r;
  }
  std::vector<std::uint8_t> reply;
  if (auto err = receive(s.fd, tcp, deadline, reply); !err.empty()) {
    r.error = err == "timeout" ? "no reply within " + std::to_string(timeout.count()) + " ms" : err;
    return r;
  }
  read_answer(r, reply, id);
  return r;
}

std::vector<ProbeResult> run_probes(const ProbePlan& plan, std::chrono::milliseconds system_timeout,
                                    std::chrono::milliseconds direct_timeout) {
  std::vector<std::future<ProbeResult>> running;
  running.reserve(1 + plan.direct.size());
  running.push_back(std::async(std::launch::async, [&] { return system_probe(plan.system_name, system_timeout); }));
  for (const auto& d : plan.direct) {
    running.push_back(std::async(std::launch::async, [&d, direct_timeout] {
      return direct_probe(d.name, d.target, d.kind, direct_timeout, 53, d.qtype, d.link);
    }));
  }
  std::vector<ProbeResult> out;
  out.reserve(running.size());
  for (auto& f : running) out.push_back(f.get());
  return out;
}

}  // namespace dnsfence::detector
