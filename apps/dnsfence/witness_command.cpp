// `dnsfence witness`: the leak-test authority (serve) and its command-line client (new-run, results).

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "common/metrics.hpp"
#include "common/privileges.hpp"
#include "common/systemd.hpp"
#include "io/http.hpp"
#include "witness/api.hpp"
#include "witness/config.hpp"
#include "witness/responder.hpp"
#include "witness/server.hpp"
#include "witness/store.hpp"

namespace dnsfence::app {
namespace {

using namespace dnsfence::witness;

struct ServeOptions {
  std::string config;
  bool check = false;
  std::string zone;
  std::vector<std::string> listen;
  std::string api;
  std::string key_file;
  std::optional<std::string> user;
};

struct ClientOptions {
  std::string api;
  std::string run;
  bool json = false;
};

std::string default_api() {
  const char* env = std::getenv("DNSFENCE_WITNESS_API");
  return env != nullptr ? env : "http://127.0.0.1:8053";
}

WitnessConfig load(const ServeOptions& o) {
  if (o.config.empty() && o.zone.empty()) throw ConfigError("give --config FILE, or --zone for a quick start");
  WitnessConfig c = o.config.empty() ? quick_config(o.zone, o.listen, o.api) : load_config(o.config);
  if (!o.config.empty() && (!o.zone.empty() || !o.listen.empty() || !o.api.empty()))
    throw ConfigError("--zone, --listen and --api are for quick starts without --config");
  if (!o.key_file.empty()) c.key = read_key_file(o.key_file);
  if (o.user) c.user = *o.user;
  return c;
}

// Blocks the stop signals in every thread started after this, and returns a signalfd for them.
int stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) throw std::runtime_error("pthread_sigmask failed");
  const int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error("signalfd failed");
  return fd;
}

std::string join(const std::vector<common::SocketAddress>& endpoints) {
  std::string out;
  for (const auto& e : endpoints) out += (out.empty() ? "" : " ") + e.to_string();
  return out;
}

int serve(const ServeOptions& o) {
  const WitnessConfig config = load(o);
  if (o.check) {
    common::plan_drop(config.user, 0, common::find_account);  // as at startup: the account must exist
    std::cout << (o.config.empty() ? "command line" : o.config) << ": configuration OK\n";
    return 0;
  }
  const Key key = config.key.empty() ? Key::random() : Key(config.key);
  const int stop_fd = stop_signals();
  common::Registry registry;
  WitnessMetrics metrics(registry);
  const SystemClock clock;
  Store store(config.limits, clock);
  const Responder responder(config.zone, key, store);
  Server server(responder, config.listen,
                ServerLimits{config.max_pending_delays, config.max_tcp_connections, std::chrono::seconds(10)}, metrics);
  const ApiContext ctx{store, key, config.zone, config.probes_per_run, registry, metrics};
  Api api(ctx, config.api, Api::Routes::All);
  std::unique_ptr<Api> metrics_api;
  if (config.metrics) metrics_api = std::make_unique<Api>(ctx, *config.metrics, Api::Routes::MetricsOnly);
  // Every socket is bound and the key read: nothing privileged is needed from here on.
  std::cerr << "dnsfence witness: " << common::drop_privileges(config.user) << "\n";
  api.start();
  if (metrics_api) metrics_api->start();
  const std::string status = "serving " + config.zone.zone.to_text() + " on " + join(server.bound()) + ", API on " +
                             common::SocketAddress(config.api.ip(), api.port()).to_string();
  std::cerr << "dnsfence witness: " << status << (config.key.empty() ? " (random key for this process)" : "") << "\n";
  common::notify_ready(status.c_str());
  server.run(stop_fd);
  common::notify_stopping();
  std::cerr << "dnsfence witness: stopping\n";
  api.stop();
  if (metrics_api) metrics_api->stop();
  ::close(stop_fd);
  return 0;
}

// Performs one request; throws with the server's error message on failure.
nlohmann::json request(const std::string& api, const std::string& method, const std::string& path) {
  auto res = io::http::request(api, method, path, {}, std::chrono::seconds(10));
  if (!res) throw std::runtime_error("cannot reach the witness API at " + api + ": " + res.error());
  nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status / 100 != 2) {
    const std::string why = body.is_object() && body.contains("error") ? body["error"].get<std::string>() : res->body;
    throw std::runtime_error(api + path + ": HTTP " + std::to_string(res->status) + ": " + why);
  }
  if (body.is_discarded()) throw std::runtime_error(api + path + ": the answer is not JSON");
  return body;
}

void print_results(const nlohmann::json& run) {
  std::cout << "run " << run.value("run", "") << "  created " << run.value("created", "") << "  expires "
            << run.value("expires", "") << "\n";
  const auto& resolvers = run["resolvers"];
  if (resolvers.empty()) std::cout << "no resolver has asked for this run's probe names\n";
  for (const auto& r : resolvers) {
    // Appended piece by piece: a literal + a temporary string is g++ 12's false -Wrestrict at -O3.
    auto join = [](const nlohmann::json& list) {
      std::string out;
      for (const auto& item : list) (out += out.empty() ? "" : ",") += item.get<std::string>();
      return out;
    };
    const std::string transports = join(r["transports"]);
    const std::string types = join(r["types"]);
    std::cout << "  " << r.value("address", "") << "  queries " << r.value("count", 0) << "  " << transports << "  "
              << types << "  first " << r.value("first_seen", "") << "  last " << r.value("last_seen", "") << "\n";
  }
  if (run.value("dropped", 0) > 0)
    std::cout << "  (" << run.value("dropped", 0) << " queries from further resolvers not recorded: cap reached)\n";
}

void add_serve(CLI::App& witness, int& exit_code) {
  auto* cmd = witness.add_subcommand("serve", "Serve the leak-test zone and its HTTP JSON API");
  auto o = std::make_shared<ServeOptions>();
  cmd->add_option("-c,--config", o->config, "TOML file with a [witness] table");
  cmd->add_flag("--check-config", o->check, "Check the configuration and exit (0: valid)");
  cmd->add_option("--zone", o->zone, "Quick start: the zone to serve");
  cmd->add_option("--listen", o->listen, "Quick start: DNS address[:port], repeatable (default 127.0.0.1:53)");
  cmd->add_option("--api", o->api, "Quick start: API address[:port] (default 127.0.0.1:8053)");
  cmd->add_option("--key-file", o->key_file, "HMAC key file (hex or raw); overrides the configuration");
  cmd->add_option("--user", o->user, "Run as this account once bound (default dnsfence; \"root\": keep root)");
  cmd->callback([o, &exit_code] {
    try {
      exit_code = serve(*o);
    } catch (const ConfigError& e) {
      std::cerr << e.what() << "\n";
      exit_code = 1;
    } catch (const common::PrivilegeError& e) {
      std::cerr << "dnsfence witness: not starting: " << e.what() << "\n";
      exit_code = 1;
    }
  });
}

void add_client(CLI::App& witness, int& exit_code) {
  auto o = std::make_shared<ClientOptions>();
  o->api = default_api();
  auto* results = witness.add_subcommand("results", "Show which resolvers asked for a run's probe names");
  results->add_option("run", o->run, "Run id (16 hex digits)")->required();
  results->add_option("--api", o->api, "Witness API URL (default $DNSFENCE_WITNESS_API or http://127.0.0.1:8053)");
  results->add_flag("--json", o->json, "Print the API's JSON");
  results->callback([o, &exit_code] {
    const nlohmann::json run = request(o->api, "GET", "/runs/" + o->run);
    if (o->json) {
      std::cout << run.dump(2) << "\n";
    } else {
      print_results(run);
    }
    exit_code = 0;
  });
  auto* create = witness.add_subcommand("new-run", "Create a run and print its id and probe names");
  create->add_option("--api", o->api, "Witness API URL (default $DNSFENCE_WITNESS_API or http://127.0.0.1:8053)");
  create->add_flag("--json", o->json, "Print the API's JSON");
  create->callback([o, &exit_code] {
    const nlohmann::json run = request(o->api, "POST", "/runs");
    if (o->json) {
      std::cout << run.dump(2) << "\n";
    } else {
      std::cout << run["run"].get<std::string>() << "\n";
      for (const auto& p : run["probes"]) std::cout << p.get<std::string>() << "\n";
    }
    exit_code = 0;
  });
}

}  // namespace

void add_witness_command(CLI::App& root, int& exit_code) {
  auto* witness = root.add_subcommand("witness", "Leak-test authority: records which resolvers asked for probe names");
  witness->require_subcommand(1);
  add_serve(*witness, exit_code);
  add_client(*witness, exit_code);
}

}  // namespace dnsfence::app
