#pragma once
// Sends what the workers saw of queries under the witness zone to the witness (issue: stealth by
// evidence): a thread of its own that every `interval` drains each worker's ReportQueue and POSTs
// the sightings as signed batches (common/probe_report.hpp). Off the query path: workers only
// fill their rings. Bounded: rings of fixed size, batches of at most kMaxReportsPerBatch, one
// request at a time with a timeout; when the witness is away a batch is dropped and counted,
// never retried or queued without bound.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/metrics.hpp"
#include "common/probe_report.hpp"
#include "proxy/report_queue.hpp"

namespace dnsfence::proxy {

/// Where batches go. post() is bounded in time and never throws.
class ReportSink {
 public:
  virtual ~ReportSink() = default;
  /// Sends one signed batch; true if the witness accepted it (HTTP 2xx).
  virtual bool post(const std::string& path, const std::string& body) noexcept = 0;
};

/// POSTs to the witness's URL with io::http, `timeout` per batch.
class HttpReportSink final : public ReportSink {
 public:
  HttpReportSink(std::string url, std::chrono::milliseconds timeout) : url_(std::move(url)), timeout_(timeout) {}
  bool post(const std::string& path, const std::string& body) noexcept override;

 private:
  std::string url_;
  std::chrono::milliseconds timeout_;
};

/// A sighting as the witness reads it ("<name>" lowercase without the trailing dot, the class and
/// action words of the contract).
common::ProbeReport to_report(const Sighting& s);

class Reporter {
 public:
  /// `queues` (one per worker) and `sink` are used from the reporter's thread only; the queues
  /// must outlive the reporter.
  Reporter(const common::WitnessReporting& config, std::vector<ReportQueue*> queues, std::unique_ptr<ReportSink> sink);
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;
  ~Reporter();

  void start();
  /// Stops the thread after one last round (bounded by the sink's timeout). Idempotent.
  void stop();
  /// One round: drains every queue and sends the sightings in batches. Returns how many the
  /// witness accepted. Called by the thread; tests call it directly instead of start().
  std::size_t round();

  [[nodiscard]] std::uint64_t sent() const noexcept { return sent_.load(); }
  [[nodiscard]] std::uint64_t unreachable() const noexcept { return unreachable_.load(); }
  [[nodiscard]] std::uint64_t dropped_full() const noexcept;
  /// dnsfence_witness_reports_total{outcome="sent|dropped_full|dropped_unreachable"}.
  void collect(common::Exposition& out) const;

 private:
  void loop();

  std::string reporter_;
  std::vector<std::uint8_t> key_;
  std::chrono::milliseconds interval_;
  std::vector<ReportQueue*> queues_;
  std::unique_ptr<ReportSink> sink_;
  std::vector<Sighting> drained_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> unreachable_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dnsfence::proxy
