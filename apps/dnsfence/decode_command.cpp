// `dnsfence decode`: show how dnsfence reads a packet and what it would answer.

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common/hex.hpp"
#include "dns/gate.hpp"
#include "dns/response.hpp"
#include "dns/text.hpp"

namespace dnsfence::app {
namespace {

const char* action_name(dns::GateAction a) {
  switch (a) {
    case dns::GateAction::Accept:
      return "accept";
    case dns::GateAction::Drop:
      return "drop (no reply)";
    case dns::GateAction::FormErr:
      return "reply FORMERR";
    case dns::GateAction::NotImp:
      return "reply NOTIMP";
    case dns::GateAction::BadVers:
      return "reply BADVERS";
  }
  return "?";
}

std::optional<dns::Rcode> answer_rcode(const std::string& answer) {
  if (answer == "nxdomain") return dns::Rcode::NxDomain;
  if (answer == "nodata") return dns::Rcode::NoError;
  if (answer == "refused") return dns::Rcode::Refused;
  if (answer == "servfail") return dns::Rcode::ServFail;
  return std::nullopt;
}

void show_reply(dns::Bytes reply) {
  std::cout << "reply (" << reply.size() << " octets):\n" << common::to_hex(reply);
  if (auto m = dns::parse(reply)) std::cout << dns::message_text(*m);
}

// Decodes one packet; returns false if it was not an acceptable query.
bool decode_one(const std::vector<std::uint8_t>& packet, const std::string& origin, const std::string& answer,
                bool tcp) {
  std::cout << "== " << origin << " (" << packet.size() << " octets)\n";
  const auto transport = tcp ? dns::Transport::Tcp : dns::Transport::Udp;
  const dns::GateResult g = dns::gate(packet);
  if (g.message) {
    std::cout << dns::message_text(*g.message);
  } else if (auto parsed = dns::parse(packet); !parsed) {
    std::cout << "parse error: " << dns::describe(parsed.error()) << "\n";
  }
  std::cout << "gate: " << action_name(g.action) << "\n";
  std::array<std::uint8_t, 65535> out{};
  std::expected<std::size_t, dns::BuildError> n = 0;
  if (g.action == dns::GateAction::Accept && !answer.empty()) {
    n = dns::build_response(*g.message, *answer_rcode(answer), nullptr, transport, out);
  } else {
    n = dns::build_gate_reply(g, transport, out);
  }
  if (n && *n > 0) show_reply(dns::Bytes(out.data(), *n));
  return g.action == dns::GateAction::Accept;
}

}  // namespace

void add_decode_command(CLI::App& root, int& exit_code) {
  auto* cmd = root.add_subcommand("decode", "Decode DNS packets given in hex and show the reply dnsfence would give");
  struct Options {
    std::vector<std::string> files;
    std::string answer;
    bool tcp = false;
  };
  auto opts = std::make_shared<Options>();
  cmd->add_option("files", opts->files, "Files of hex (one packet each, '#' comments); '-' or none: stdin");
  cmd->add_option("--answer", opts->answer, "Also build this local answer for accepted queries")
      ->check(CLI::IsMember({"nxdomain", "nodata", "refused", "servfail"}));
  cmd->add_flag("--tcp", opts->tcp, "The packets arrived over TCP (no UDP size limit on replies)");
  cmd->callback([opts, &exit_code] {
    if (opts->files.empty()) opts->files.push_back("-");
    for (const auto& f : opts->files) {
      std::ostringstream text;
      if (f == "-") {
        text << std::cin.rdbuf();
      } else {
        std::ifstream in(f);
        if (!in) throw CLI::ValidationError(f, "cannot open");
        text << in.rdbuf();
      }
      auto packet = common::parse_hex(text.str());
      if (!packet) throw CLI::ValidationError(f, packet.error());
      if (!decode_one(*packet, f, opts->answer, opts->tcp)) exit_code = 1;
    }
  });
}

}  // namespace dnsfence::app
