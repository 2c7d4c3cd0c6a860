// libFuzzer target: the proxy's decisions on arbitrary bytes — a query through the pipeline over
// UDP and TCP (gate, canaries, names, destinations, local answers), and the same bytes as an
// upstream answer checked against a stored question, with the SERVFAIL a timeout would send.
#include <array>
#include <cstddef>
#include <cstdint>

#include "common/config.hpp"
#include "proxy/inflight.hpp"
#include "proxy/pipeline.hpp"

namespace {

const dnsfence::policy::RuleSet& rules() {
  static const auto rs = dnsfence::policy::RuleSet::compile(dnsfence::common::parse_config(R"(
[serve]
upstreams = ["10.64.0.53"]
[serve.canaries]
icloud_private_relay = true
[[serve.names]]
name = "blocked.example"
action = "refused"
[[serve.destinations]]
prefixes = ["192.0.2.0/24"]
action = "refuse"
[allowlist]
addresses = ["198.51.100.53"]
)",
                                                                                           "fuzz.toml"));
  return *rs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dnsfence;
  const dns::Bytes packet(data, size);
  const proxy::Pipeline pipeline(&rules());
  std::array<std::uint8_t, 65535> out;
  const auto dest = common::IpAddress::parse(size % 2 == 0 ? "192.0.2.1" : "198.51.100.53").value();
  for (auto t : {dns::Transport::Udp, dns::Transport::Tcp}) {
    proxy::Reply reply{std::span<std::uint8_t>(out.data(), t == dns::Transport::Udp ? 4096 : out.size())};
    const proxy::Decision d = pipeline.handle({packet, t, dest}, reply);
    if (d.verdict == proxy::Verdict::AnswerLocal && !dns::parse(dns::Bytes(out.data(), reply.size))) __builtin_trap();
    if (d.verdict == proxy::Verdict::Forward && d.message) {
      proxy::Slot slot;
      proxy::store_question(slot, *d.message);
      if (!proxy::same_question(slot, *d.message)) __builtin_trap();
      const std::size_t n = proxy::build_servfail(slot, t, out);
      if (n == 0 || !dns::parse(dns::Bytes(out.data(), n))) __builtin_trap();
    }
  }
  // The bytes as an upstream answer to a stored question.
  static const std::array<std::uint8_t, 29> query = {
      0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1};
  proxy::Slot slot;
  if (auto q = dns::parse(query)) proxy::store_question(slot, *q);
  if (auto answer = dns::parse(packet)) (void)proxy::same_question(slot, *answer);
  return 0;
}
