#include "detector/facts_json.hpp"

#include "detector/witness_client.hpp"

#include <algorithm>
#include <stdexcept>

namespace dnsfence::detector {
namespace {

using nlohmann::json;

IpAddress ip(const json& j) {
  auto a = IpAddress::parse(j.get<std::string>());
  if (!a) throw std::runtime_error(a.error());
  return *a;
}

SocketAddress sock(const json& j) {
  auto a = SocketAddress::parse(j.get<std::string>(), 53);
  if (!a) throw std::runtime_error(a.error());
  return *a;
}

std::vector<IpAddress> ips(const json& j, const char* key) {
  std::vector<IpAddress> v;
  for (const auto& e : j.value(key, json::array())) v.push_back(ip(e));
  return v;
}

json ips_json(const std::vector<IpAddress>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(x.to_string());
  return a;
}

Wire wire_from(const std::string& s) {
  if (s == "udp") return Wire::Udp;
  if (s == "tcp") return Wire::Tcp;
  if (s == "dot") return Wire::Dot;
  if (s == "doq") return Wire::Doq;
  throw std::runtime_error("unknown wire \"" + s + "\"");
}

ProbeKind kind_from(const std::string& s) {
  for (auto k : {ProbeKind::System, ProbeKind::DirectUdp, ProbeKind::DirectTcp, ProbeKind::Public}) {
    if (s == probe_kind_name(k)) return k;
  }
  throw std::runtime_error("unknown probe kind \"" + s + "\"");
}

Observation observation(const json& j) {
  Observation o;
  o.time = j.value("time", 0.0);
  o.ifindex = j.value("ifindex", 0);
  o.ifname = j.value("ifname", "");
  o.src = sock(j.at("src"));
  o.dst = sock(j.at("dst"));
  o.wire = wire_from(j.value("wire", "udp"));
  o.is_response = j.value("response", false);
  o.qname = j.value("qname", "");
  o.qtype = j.value("qtype", std::uint16_t{0});
  o.id = j.value("id", 0);
  o.rcode = j.value("rcode", 0);
  o.answers = j.value("answers", std::vector<std::string>{});
  return o;
}

Inventory inventory(const json& j) {
  Inventory inv;
  for (const auto& r : j.value("resolvers", json::array())) {
    inv.resolvers.push_back(Resolver{ip(r.at("address")), r.value("origin", ""), r.value("link", "")});
  }
  if (j.contains("tunnel") && !j["tunnel"].is_null()) {
    const auto& t = j["tunnel"];
    Tunnel tun{
        t.at("ifname").get<std::string>(), t.value("ifindex", 0), t.value("kind", ""), t.value("detected_by", ""), {}};
    for (const auto& p : t.value("addresses", json::array())) {
      auto prefix = common::Prefix::parse(p.get<std::string>());
      if (!prefix) throw std::runtime_error(prefix.error());
      tun.addresses.push_back(*prefix);
    }
    inv.tunnel = tun;
  }
  inv.notes = j.value("notes", std::vector<std::string>{});
  return inv;
}

json inventory_json(const Inventory& inv) {
  json j{{"resolvers", json::array()}, {"notes", inv.notes}, {"tunnel", nullptr}};
  for (const auto& r : inv.resolvers) {
    j["resolvers"].push_back({{"address", r.address.to_string()}, {"origin", r.origin}, {"link", r.link}});
  }
  if (const auto& t = inv.tunnel) {
    json a = json::array();
    for (const auto& p : t->addresses) a.push_back(p.to_string());
    j["tunnel"] = {{"ifname", t->ifname},
                   {"ifindex", t->ifindex},
                   {"kind", t->kind},
                   {"detected_by", t->detected_by},
                   {"addresses", a}};
  }
  return j;
}

ProbeResult probe(const json& j) {
  ProbeResult p;
  p.name = j.at("name").get<std::string>();
  p.kind = kind_from(j.value("kind", "system"));
  if (j.contains("target") && !j["target"].is_null()) p.target = ip(j["target"]);
  p.qtype = j.value("qtype", std::uint16_t{0});
  p.answered = j.value("answered", false);
  p.rcode = j.value("rcode", 0);
  p.answers = j.value("answers", std::vector<std::string>{});
  p.error = j.value("error", "");
  p.link = j.value("link", "");
  return p;
}

json probe_json(const ProbeResult& p) {
  return {{"name", p.name},
          {"kind", probe_kind_name(p.kind)},
          {"target", p.target ? json(p.target->to_string()) : json(nullptr)},
          {"qtype", p.qtype},
          {"answered", p.answered},
          {"rcode", p.rcode},
          {"answers", p.answers},
          {"error", p.error},
          {"link", p.link}};
}

}  // namespace

json observation_to_json(const Observation& o) {
  return {{"time", o.time},
          {"ifindex", o.ifindex},
          {"ifname", o.ifname},
          {"src", o.src.to_string()},
          {"dst", o.dst.to_string()},
          {"wire", wire_name(o.wire)},
          {"response", o.is_response},
          {"qname", o.qname},
          {"qtype", o.qtype},
          {"id", o.id},
          {"rcode", o.rcode},
          {"answers", o.answers}};
}

Facts facts_from_json(const json& j) {
  Facts f;
  f.inventory = inventory(j.value("inventory", json::object()));
  for (const auto& r : j.value("routes", json::array())) {
    RouteFact rf{ip(r.at("destination")), r.value("ifname", ""), r.value("ifindex", 0), std::nullopt,
                 r.value("error", "")};
    if (r.contains("source") && !r["source"].is_null()) rf.source = ip(r["source"]);
    f.routes.push_back(rf);
  }
  f.capture_ok = j.value("capture_ok", false);
  f.capture_error = j.value("capture_error", "");
  for (const auto& o : j.value("observations", json::array())) f.observations.push_back(observation(o));
  for (const auto& p : j.value("probes", json::array())) f.probes.push_back(probe(p));
  if (j.contains("witness") && !j["witness"].is_null()) {
    WitnessResults w;
    for (const auto& r : j["witness"].value("resolvers", json::array())) {
      w.resolvers.push_back(WitnessResolver{ip(r.at("address")), r.value("names", std::vector<std::string>{})});
    }
    w.served = j["witness"].value("served", std::vector<std::string>{});
    w.incomplete = j["witness"].value("incomplete", false);
    for (const auto& r : j["witness"].value("reports", json::array())) w.reports.push_back(parse_report(r));
    f.witness = w;
  }
  f.witness_error = j.value("witness_error", "");
  f.trusted = ips(j, "trusted");
  f.vpn_resolvers = ips(j, "vpn_resolvers");
  f.public_resolvers = ips(j, "public_resolvers");
  f.waits = j.value("waits", std::vector<std::string>{});
  return f;
}

json witness_report_json(const WitnessReport& r) {
  return {{"destination", r.destination.to_string()},
          {"class", r.destination_class},
          {"action", r.action},
          {"reporter", r.reporter},
          {"role", r.role},
          {"transports", r.transports},
          {"names", r.names}};
}

json facts_to_json(const Facts& f) {
  json j{{"inventory", inventory_json(f.inventory)},
         {"routes", json::array()},
         {"capture_ok", f.capture_ok},
         {"capture_error", f.capture_error},
         {"observations", json::array()},
         {"probes", json::array()},
         {"witness", nullptr},
         {"witness_error", f.witness_error},
         {"trusted", ips_json(f.trusted)},
         {"vpn_resolvers", ips_json(f.vpn_resolvers)},
         {"public_resolvers", ips_json(f.public_resolvers)},
         {"waits", f.waits}};
  for (const auto& r : f.routes) {
    j["routes"].push_back({{"destination", r.destination.to_string()},
                           {"ifname", r.ifname},
                           {"ifindex", r.ifindex},
                           {"source", r.source ? json(r.source->to_string()) : json(nullptr)},
                           {"error", r.error}});
  }
  for (const auto& o : f.observations) j["observations"].push_back(observation_to_json(o));
  for (const auto& p : f.probes) j["probes"].push_back(probe_json(p));
  if (f.witness) {
    json w{{"resolvers", json::array()}, {"served", f.witness->served}, {"incomplete", f.witness->incomplete}};
    for (const auto& r : f.witness->resolvers)
      w["resolvers"].push_back({{"address", r.address.to_string()}, {"names", r.names}});
    w["reports"] = json::array();
    for (const auto& r : f.witness->reports) w["reports"].push_back(witness_report_json(r));
    j["witness"] = w;
  }
  return j;
}

json report_to_json(const Report& r) {
  json j{{"overall", verdict_name(r.overall)},
         {"exit_code", exit_code(r.overall)},
         {"findings", json::array()},
         {"notes", r.notes}};
  for (const auto& f : r.findings) {
    json e = json::array();
    for (const auto& o : f.evidence) e.push_back(observation_to_json(o));
    j["findings"].push_back({{"verdict", verdict_name(f.verdict)},
                             {"resolver", f.resolver ? json(f.resolver->to_string()) : json(nullptr)},
                             {"explanation", f.explanation},
                             {"evidence", e},
                             {"probes", f.probes},
                             {"facts", f.facts}});
  }
  return j;
}

json report_diff_json(const Report& before, const Report& after) {
  auto same = [](const Finding& a, const Finding& b) {
    return a.verdict == b.verdict && a.resolver == b.resolver && a.explanation == b.explanation;
  };
  auto only_in = [&](const Report& x, const Report& y) {
    Report r;
    for (const auto& f : x.findings) {
      if (std::ranges::none_of(y.findings, [&](const Finding& g) { return same(f, g); })) r.findings.push_back(f);
    }
    return report_to_json(r)["findings"];
  };
  return {{"previous_overall", verdict_name(before.overall)},
          {"overall", verdict_name(after.overall)},
          {"exit_code", exit_code(after.overall)},
          {"added", only_in(after, before)},
          {"removed", only_in(before, after)}};
}

}  // namespace dnsfence::detector
