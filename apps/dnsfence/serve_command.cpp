// `dnsfence serve`: the transparent DNS proxy. Wiring only: configuration, privileges, signals,
// systemd notifications; the proxy itself lives in src/proxy.

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "common/config.hpp"
#include "common/privileges.hpp"
#include "common/systemd.hpp"
#include "policy/rule_set.hpp"
#include "proxy/server.hpp"

namespace dnsfence::app {
namespace {

struct ServeOptions {
  std::string config;
  std::vector<std::string> listen;
  std::vector<std::string> upstreams;
  std::vector<std::string> tproxy_listen;
  std::optional<unsigned> workers;
  std::optional<std::string> metrics;
  std::optional<std::string> user;
  bool debug_log = false;
  bool check = false;
};

std::vector<common::SocketAddress> addresses(const std::vector<std::string>& texts, std::uint16_t port,
                                             const char* flag) {
  std::vector<common::SocketAddress> out;
  for (const auto& t : texts) {
    auto a = common::SocketAddress::parse(t, port);
    if (!a) throw CLI::ValidationError(flag, a.error());
    out.push_back(*a);
  }
  return out;
}

// The file (--config, or the default path when no flag names an upstream), then the flags.
common::Config load(const ServeOptions& o) {
  common::Config c;
  if (!o.config.empty()) {
    c = common::load_config(o.config);
  } else if (o.upstreams.empty()) {
    c = common::load_config(common::kDefaultConfigPath);
  } else {
    c.source = "command line";
    c.serve.listen = {*common::SocketAddress::parse("127.0.0.1:53")};
  }
  if (!o.listen.empty()) c.serve.listen = addresses(o.listen, 53, "--listen");
  if (!o.upstreams.empty()) c.serve.upstreams = addresses(o.upstreams, 53, "--upstream");
  if (!o.tproxy_listen.empty()) {
    c.serve.tproxy_listen = addresses(o.tproxy_listen, 5300, "--tproxy-listen");
    c.serve.mode = common::InterceptMode::Tproxy;
  }
  if (o.workers) c.serve.workers = *o.workers;
  if (o.metrics) c.serve.metrics = *o.metrics;
  if (o.user) c.serve.user = *o.user;
  if (o.debug_log) c.serve.debug_log = true;
  if (c.serve.upstreams.empty()) throw common::ConfigError(c.source + ": at least one upstream is required");
  if (c.serve.upstreams.size() > common::kMaxUpstreams)
    throw common::ConfigError("--upstream: at most " + std::to_string(common::kMaxUpstreams) + " upstreams");
  return c;
}

void reload(proxy::Server& server, const ServeOptions& o) {
  common::notify_reloading();
  try {
    const auto fresh = load(o);
    for (const auto& key : server.reload(fresh))
      std::cerr << "dnsfence serve: reload: '" << key << "' changed; it takes effect on restart\n";
    std::cerr << "dnsfence serve: reloaded " << fresh.source << "\n";
    malloc_trim(0);  // as at startup: the parser's freed memory
  } catch (const std::exception& e) {
    // The old rules keep running.
    std::cerr << "dnsfence serve: reload refused, old configuration kept: " << e.what() << "\n";
  }
  common::notify_ready();
}

int run(const ServeOptions& o) {
  common::Config config = load(o);
  if (o.check) {
    // As at startup (which runs as root): the account must exist. Not checked: whether this
    // process could switch to it.
    common::plan_drop(config.serve.user, 0, common::find_account);
    for (const auto& line : policy::RuleSet::compile(config)->describe()) std::cout << line << "\n";
    std::cout << config.source << ": ok\n";
    return 0;
  }
  // Signals are handled by this thread only: block them before any other thread exists.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  proxy::Server server(std::move(config));  // one copy of the configuration: a blocklist can be large
  const common::ServeConfig& serve = server.config().serve;
  // Loading a large file leaves the parser's freed memory scattered in the heap (about 60 MiB
  // for 100,000 names): give it back before serving.
  malloc_trim(0);
  server.open();
  // Before any thread starts: every socket is open, nothing privileged is needed after this.
  std::cerr << "dnsfence serve: " << common::drop_privileges(serve.user) << "\n";
  server.start();
  std::cerr << "dnsfence serve: " << server.workers() << " workers, listening on";
  for (const auto& a : serve.listen) std::cerr << " " << a.to_string();
  if (serve.mode == common::InterceptMode::Tproxy)
    for (const auto& a : serve.tproxy_listen) std::cerr << " tproxy:" << a.to_string();
  std::cerr << "\n" << std::flush;
  common::notify_ready();
  for (;;) {
    int s = 0;
    if (sigwait(&signals, &s) != 0) continue;
    if (s == SIGHUP) {
      reload(server, o);
      continue;
    }
    break;
  }
  common::notify_stopping();
  server.stop();
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& root, int& exit_code) {
  auto* cmd =
      root.add_subcommand("serve", "Transparent DNS proxy: answer every client query through trusted resolvers");
  auto o = std::make_shared<ServeOptions>();
  cmd->add_option("-c,--config", o->config, "Configuration file (default /etc/dnsfence/dnsfence.toml)");
  cmd->add_option("-l,--listen", o->listen, "Listen address ADDR:PORT or [V6]:PORT (repeatable)");
  cmd->add_option("-u,--upstream", o->upstreams, "Trusted upstream resolver ADDR[:PORT] (repeatable)");
  cmd->add_option("--tproxy-listen", o->tproxy_listen, "Transparent listener (repeatable); implies mode tproxy");
  cmd->add_option("--workers", o->workers, "Worker threads (0: one per core)");
  cmd->add_option("--metrics", o->metrics, "Prometheus endpoint ADDR:PORT (\"\": none)");
  cmd->add_option("--user", o->user, "Run as this account after binding (default dnsfence; \"root\": keep root)");
  cmd->add_flag("--debug-log", o->debug_log, "Log every query name (off: no query is ever logged)");
  cmd->add_flag("--check-config", o->check, "Validate the configuration, print the rules, and exit");
  cmd->callback([o, &exit_code] {
    try {
      exit_code = run(*o);
    } catch (const common::ConfigError& e) {
      std::cerr << "dnsfence serve: invalid configuration: " << e.what() << "\n";
      exit_code = 1;
    } catch (const common::PrivilegeError& e) {
      std::cerr << "dnsfence serve: not starting: " << e.what() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace dnsfence::app
