#include "policy/rule_set.hpp"

#include <algorithm>
#include <array>

namespace dnsfence::policy {
namespace {

dns::Name name_of(std::string_view text) {
  auto n = dns::Name::from_text(text);
  if (!n) throw common::ConfigError("internal: bad built-in name " + std::string(text));
  return *n;
}

NameAction convert(common::NameAction a) noexcept {
  switch (a) {
    case common::NameAction::NxDomain:
      return NameAction::NxDomain;
    case common::NameAction::NoData:
      return NameAction::NoData;
    case common::NameAction::Refused:
      return NameAction::Refused;
    case common::NameAction::Drop:
      return NameAction::Drop;
  }
  return NameAction::Drop;
}

Route convert(common::DestinationAction a) noexcept {
  switch (a) {
    case common::DestinationAction::Redirect:
      return Route::Upstreams;
    case common::DestinationAction::Pass:
      return Route::Pass;
    case common::DestinationAction::Refuse:
      return Route::Refuse;
  }
  return Route::Upstreams;
}

const std::array<common::Prefix, 12>& private_prefixes() {
  static const std::array<common::Prefix, 12> prefixes = [] {
    const std::array<const char*, 12> text = {"10.0.0.0/8",     "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                              "169.254.0.0/16", "127.0.0.0/8",   "0.0.0.0/8",      "fc00::/7",
                                              "fe80::/10",      "::1/128",       "::/128",         "fec0::/10"};
    std::array<common::Prefix, 12> out{};
    for (std::size_t i = 0; i < text.size(); ++i) out[i] = *common::Prefix::parse(text[i]);
    return out;
  }();
  return prefixes;
}

}  // namespace

std::uint32_t CounterSlots::slot(const std::string& identity) {
  if (const auto it = slots_.find(identity); it != slots_.end()) return it->second;
  if (slots_.size() + 1 >= capacity_) return overflow();
  const auto s = static_cast<std::uint32_t>(slots_.size());
  slots_.emplace(identity, s);
  return s;
}

std::string RuleSet::suffix(const NameRule& rule) const {
  return name_table_.name(rule.position).to_text();
}

std::string RuleSet::label(const NameRule& rule) const {
  return rule.kind == "name" ? "name:" + suffix(rule) : std::string(rule.kind);
}

std::string RuleSet::describe(const NameRule& rule) const {
  return label(rule) + ": " + suffix(rule) + " -> " + std::string(action_name(rule.action));
}

std::string DestinationRule::describe() const {
  return label + ": " + prefix.to_string() + " -> " + std::string(route_name(route));
}

std::shared_ptr<const RuleSet> RuleSet::compile(const common::Config& config, CounterSlots* counters) {
  auto rs = std::make_shared<RuleSet>();
  const auto& serve = config.serve;
  rs->names_.reserve(serve.names.size() + 4);
  auto add = [&](std::string_view kind, const dns::Name& name, NameAction action) {
    const auto position = static_cast<std::uint32_t>(rs->names_.size());
    rs->name_table_.add(name, position);
    NameRule rule{kind, action, position, position};
    if (counters != nullptr) {  // identity: kind, name and action (a rule whose action changes is another)
      rule.index = counters->slot(std::string(kind) + " " + rs->name_table_.name(position).to_text() + " " +
                                  std::string(action_name(action)));
    }
    rs->names_.push_back(rule);
  };
  if (serve.canaries.doh) add("canary:doh", name_of("use-application-dns.net"), NameAction::NxDomain);
  if (serve.canaries.ddr) add("canary:ddr", name_of("resolver.arpa"), NameAction::NoData);
  if (serve.canaries.icloud_private_relay) {
    add("canary:icloud", name_of("mask.icloud.com"), NameAction::NxDomain);
    add("canary:icloud", name_of("mask-h2.icloud.com"), NameAction::NxDomain);
  }
  for (const auto& n : serve.names) add("name", n.name, convert(n.action));
  rs->name_table_.build();
  // Longest prefix first, so that the first match is the most specific one; among equal lengths
  // the file's order (an insertion sort: the list is short, and it is stable without a buffer).
  for (const auto& d : serve.destinations) {
    auto at = std::find_if(rs->destinations_.begin(), rs->destinations_.end(),
                           [&](const auto& r) { return r.prefix.length() < d.prefix.length(); });
    rs->destinations_.insert(at, DestinationRule{"destination", d.prefix, convert(d.action)});
  }
  rs->allowlist_ = config.allowlist;
  for (const auto& u : serve.upstreams) rs->providers_.push_back(u.ip());
  return rs;
}

const NameRule* RuleSet::match_name(const dns::Message& query) const noexcept {
  const auto& q = query.question();
  if (!q) return nullptr;
  const auto position = name_table_.match(query.packet(), q->name);
  return position ? &names_[*position] : nullptr;
}

const DestinationRule* RuleSet::match_destination(const common::IpAddress& a) const noexcept {
  for (const auto& d : destinations_)
    if (d.prefix.contains(a)) return &d;
  return nullptr;
}

Route RuleSet::route(const std::optional<common::IpAddress>& destination) const noexcept {
  if (!destination) return Route::Upstreams;
  if (const auto* d = match_destination(*destination)) return d->route;
  for (const auto& p : allowlist_)
    if (p.contains(*destination)) return Route::Pass;
  return Route::Upstreams;
}

DestinationClass RuleSet::classify(const std::optional<common::IpAddress>& destination) const noexcept {
  if (!destination) return DestinationClass::Unknown;
  if (std::find(providers_.begin(), providers_.end(), *destination) != providers_.end())
    return DestinationClass::Provider;
  if (route(destination) == Route::Pass) return DestinationClass::Allowlisted;
  if (is_private(*destination)) return DestinationClass::Private;
  return DestinationClass::Public;
}

std::vector<std::string> RuleSet::describe() const {
  std::vector<std::string> out;
  out.reserve(names_.size() + destinations_.size() + allowlist_.size() + 1);
  for (const auto& n : names_) out.push_back(describe(n));
  for (const auto& d : destinations_) out.push_back(d.describe());
  for (const auto& p : allowlist_) out.push_back("allowlist: " + p.to_string() + " -> pass");
  out.push_back("default: every other query -> upstreams");
  return out;
}

bool is_private(const common::IpAddress& a) noexcept {
  const auto& prefixes = private_prefixes();
  return std::any_of(prefixes.begin(), prefixes.end(), [&](const auto& p) { return p.contains(a); });
}

std::string_view action_name(NameAction a) noexcept {
  switch (a) {
    case NameAction::NxDomain:
      return "nxdomain";
    case NameAction::NoData:
      return "nodata";
    case NameAction::Refused:
      return "refused";
    case NameAction::Drop:
      return "drop";
  }
  return "?";
}

std::string_view route_name(Route r) noexcept {
  switch (r) {
    case Route::Upstreams:
      return "upstreams";
    case Route::Pass:
      return "pass";
    case Route::Refuse:
      return "refuse";
  }
  return "?";
}

std::string_view class_name(DestinationClass c) noexcept {
  switch (c) {
    case DestinationClass::Unknown:
      return "unknown";
    case DestinationClass::Provider:
      return "provider";
    case DestinationClass::Allowlisted:
      return "allowlisted";
    case DestinationClass::Private:
      return "private";
    case DestinationClass::Public:
      return "public";
  }
  return "?";
}

}  // namespace dnsfence::policy
