#pragma once
// Blocking wrappers around the Store's callback API, and a fresh run, for tests.

#include <future>

#include "witness/store.hpp"

namespace dnsfence::witness::testing {

/// A new run as the API would make it: a random key, whole-second times.
inline RunSnapshot fresh_run(const Clock& clock, std::chrono::seconds ttl, std::uint16_t probes = 4,
                             std::uint8_t key_id = 0) {
  RunSnapshot run;
  run.key = RunKey::random();
  run.id = run.key.id();
  run.key_id = key_id;
  run.probes = probes;
  run.created = std::chrono::floor<std::chrono::seconds>(clock.now());
  run.expires = run.created + ttl;
  return run;
}

inline std::expected<void, StoreError> create(Store& store, const RunSnapshot& run) {
  std::promise<std::expected<void, StoreError>> p;
  store.create(run, [&p](std::expected<void, StoreError> r) { p.set_value(r); });
  return p.get_future().get();
}

inline std::expected<RunSnapshot, StoreError> get(Store& store, const RunKey& key) {
  std::promise<std::expected<RunSnapshot, StoreError>> p;
  store.get(key, [&p](std::expected<RunSnapshot, StoreError> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

/// Hands reports to the store; how many it kept.
inline std::size_t add_reports(Store& store, std::vector<ReportObservation> reports) {
  std::promise<std::size_t> p;
  store.add_reports(std::move(reports), [&p](std::size_t kept) { p.set_value(kept); });
  return p.get_future().get();
}

/// A VPN server's report of probe `probe` of `run`, sent to `destination` (issue 16).
inline ReportObservation report(const RunSnapshot& run, std::uint16_t probe, const char* destination,
                                const char* transport = "udp", std::int64_t ms = 1767268800000) {
  return ReportObservation{run.id, probe, "vpn-1",
                           common::ProbeReport{"name", common::IpAddress::parse(destination).value(), "public",
                                               transport, "redirected", ms}};
}

/// Creates a fresh run and returns it (the test fails on the store's error by throwing).
inline RunSnapshot created(Store& store, const Clock& clock, std::chrono::seconds ttl = std::chrono::seconds(3600),
                           std::uint16_t probes = 4) {
  RunSnapshot run = fresh_run(clock, ttl, probes);
  if (!create(store, run)) throw std::runtime_error("the store refused a run");
  return run;
}

}  // namespace dnsfence::witness::testing
