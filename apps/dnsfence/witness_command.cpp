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
#include "witness/memory_store.hpp"
#include "witness/redis_store.hpp"
#include "witness/responder.hpp"
#include "witness/server.hpp"

namespace dnsfence::app {
namespace {

using namespace dnsfence::witness;

struct ServeOptions {
  std::string config;
  bool check = false;
  std::string zone;
  std::vector<std::string> listen;
  std::string api;
  std::string operator_api;
  std::string key_file;
  std::optional<std::string> user;
};

struct ClientOptions {
  std::string api;
  std::string run;
  std::size_t count = 0;  // 0: the witness's default
  bool json = false;
};

std::string default_api() {
  const char* env = std::getenv("DNSFENCE_WITNESS_API");
  return env != nullptr ? env : "http://127.0.0.1:8053";
}

WitnessConfig load(const ServeOptions& o) {
  if (o.config.empty() && o.zone.empty()) throw ConfigError("give --config FILE, or --zone for a quick start");
  WitnessConfig c = o.config.empty() ? quick_config(o.zone, o.listen, o.api) : load_config(o.config);
  if (!o.config.empty() && (!o.zone.empty() || !o.listen.empty() || !o.api.empty() || !o.operator_api.empty()))
    throw ConfigError("--zone, --listen, --api and --operator are for quick starts without --config");
  if (!o.operator_api.empty()) {
    auto e = common::SocketAddress::parse(o.operator_api, kDefaultOperatorPort);
    if (!e) throw ConfigError("--operator: " + e.error());
    c.operator_api = *e;
  }
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

std::unique_ptr<Store> make_store(const WitnessConfig& config, const Clock& clock) {
  if (config.store == "memory") return std::make_unique<MemoryStore>(config.limits, clock);
  RedisOptions r;
  r.endpoint = parse_redis_endpoint(config.store).value();  // validated with the configuration
  r.limits = config.limits;
  r.buffer = config.store_buffer;
  r.password = config.store_password;
  return std::make_unique<RedisStore>(std::move(r), clock);
}

Keyring keyring(const WitnessConfig& config) {
  std::vector<Key> accepted;
  accepted.reserve(config.accepted_keys.size());
  for (const auto& k : config.accepted_keys) accepted.emplace_back(k);
  return Keyring(config.key.empty() ? Key::random() : Key(config.key), std::move(accepted));
}

io::http::ServerLimits public_limits(const WitnessConfig& config) {
  io::http::ServerLimits l;
  l.max_connections = config.http.max_connections;
  l.max_connections_per_client = config.http.max_connections_per_client;
  l.parser.max_body = 16384;  // {"count": N}; reporters (docs/witness.md) send more, in time
  return l;
}

io::http::ServerLimits operator_limits() {
  io::http::ServerLimits l;
  l.max_connections = 32;
  l.max_connections_per_client = 16;
  l.parser.max_body = 0;
  return l;
}

int serve(const ServeOptions& o) {
  const WitnessConfig config = load(o);
  if (o.check) {
    common::plan_drop(config.user, 0, common::find_account);  // as at startup: the account must exist
    std::cout << (o.config.empty() ? "command line" : o.config) << ": configuration OK\n";
    return 0;
  }
  // Declared in the order they are needed; destroyed in reverse, so the HTTP listeners stop before
  // the store, and the store's last callbacks still find keys, zone and metrics alive.
  const Keyring keys = keyring(config);
  const int stop_fd = stop_signals();
  common::Registry registry;
  WitnessMetrics metrics(registry);
  ApiMetrics api_metrics(registry);
  const SystemClock clock;
  const std::unique_ptr<Store> store = make_store(config, clock);
  PrefixRateLimiter run_limiter(config.run_rate);
  const Responder responder(config.zone, keys, *store, clock);
  Server server(responder, config.listen,
                ServerLimits{.max_pending_delays = config.max_pending_delays,
                             .max_tcp_connections = config.max_tcp_connections,
                             .rrl = config.rrl},
                metrics);
  const ApiContext ctx{*store,
                       keys,
                       config.zone,
                       clock,
                       RunPolicy{config.probes_per_run, config.max_probes_per_run, config.limits.run_ttl},
                       &run_limiter,
                       registry,
                       metrics,
                       api_metrics,
                       config.roles,
                       config.reporters};
  Api api(ctx, config.api, Api::Role::Public, public_limits(config));
  std::unique_ptr<Api> operator_api;
  if (config.operator_api) {
    operator_api = std::make_unique<Api>(ctx, *config.operator_api, Api::Role::Operator, operator_limits());
    operator_api->observe(api);
  }
  // Every socket is bound and the key read: nothing privileged is needed from here on.
  std::cerr << "dnsfence witness: " << common::drop_privileges(config.user) << "\n";
  api.start();
  if (operator_api) operator_api->start();
  std::string status = "serving " + config.zone.zone.to_text() + " on " + join(server.bound()) + ", API on " +
                       common::SocketAddress(config.api.ip(), api.port()).to_string();
  if (operator_api)
    status += ", operator on " + common::SocketAddress(config.operator_api->ip(), operator_api->port()).to_string();
  status += ", store " + config.store;
  std::cerr << "dnsfence witness: " << status << (config.key.empty() ? " (random key for this process)" : "") << "\n";
  common::notify_ready(status.c_str());
  server.run(stop_fd);
  common::notify_stopping();
  std::cerr << "dnsfence witness: stopping\n";
  api.stop();
  if (operator_api) operator_api->stop();
  ::close(stop_fd);
  return 0;
}

// Performs one request; throws with the server's error message on failure.
nlohmann::json request(const std::string& api, const std::string& method, const std::string& path,
                       const std::string& payload = {}) {
  auto res = io::http::request(api, method, path, payload, std::chrono::seconds(10));
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
  if (run.value("incomplete", false))
    std::cout << "  (possibly incomplete: " << run.value("lost", 0)
              << " observations could not be stored while the shared store was unreachable)\n";
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
  cmd->add_option("--api", o->api, "Quick start: public API address[:port] (default 127.0.0.1:8053)");
  cmd->add_option("--operator", o->operator_api, "Quick start: operator address[:port] for /metrics (default: none)");
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
  results->add_option("run", o->run, "Run (the 32 hex digits new-run printed)")->required();
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
  create->add_option("--count", o->count, "Probe names to ask for (default: the witness's probes_per_run)");
  create->callback([o, &exit_code] {
    const std::string body = o->count == 0 ? std::string() : nlohmann::json{{"count", o->count}}.dump();
    const nlohmann::json run = request(o->api, "POST", "/runs", body);
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
