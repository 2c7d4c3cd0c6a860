#include "proxy/reporter.hpp"

#include <algorithm>
#include <cctype>

#include "io/http.hpp"

namespace dnsfence::proxy {

bool HttpReportSink::post(const std::string& path, const std::string& body) noexcept {
  try {
    const auto res = io::http::request(url_, "POST", path, body, timeout_);
    return res && res->status / 100 == 2;
  } catch (...) {
    return false;  // out of memory while building the request: the batch is lost and counted
  }
}

common::ProbeReport to_report(const Sighting& s) {
  std::string name = s.name.to_text();
  if (name.ends_with('.')) name.pop_back();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return {std::move(name),
          s.destination,
          std::string(policy::class_name(s.destination_class)),
          s.transport == dns::Transport::Udp ? "udp" : "tcp",
          std::string(report_action(s.action)),
          s.unix_ms};
}

Reporter::Reporter(const common::WitnessReporting& config, std::vector<ReportQueue*> queues,
                   std::unique_ptr<ReportSink> sink)
    : reporter_(config.reporter),
      key_(config.key),
      interval_(config.interval),
      queues_(std::move(queues)),
      sink_(std::move(sink)) {
  drained_.reserve(common::kMaxReportsPerBatch);
}

Reporter::~Reporter() {
  stop();
}

void Reporter::start() {
  thread_ = std::thread([this] { loop(); });
}

void Reporter::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Reporter::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    lock.unlock();
    round();
    lock.lock();
  }
  lock.unlock();
  round();  // what the workers queued since the last round
}

std::size_t Reporter::round() {
  std::size_t accepted = 0;
  for (;;) {
    drained_.clear();
    for (ReportQueue* q : queues_) {
      const std::size_t room = common::kMaxReportsPerBatch - drained_.size();
      if (room == 0) break;
      q->drain(drained_, room);
    }
    if (drained_.empty()) return accepted;
    common::ReportBatch batch{reporter_, unix_ms(), {}};
    batch.reports.reserve(drained_.size());
    for (const auto& s : drained_) batch.reports.push_back(to_report(s));
    const std::string body = common::encode_batch(batch);
    if (sink_->post(common::report_path(reporter_, key_, body), body)) {
      sent_.fetch_add(drained_.size());
      accepted += drained_.size();
    } else {
      // The witness is away or refused the batch: drop it (counted) rather than hold it without
      // bound, and try the next batch next round, not now.
      unreachable_.fetch_add(drained_.size());
      return accepted;
    }
    if (drained_.size() < common::kMaxReportsPerBatch) return accepted;
  }
}

std::uint64_t Reporter::dropped_full() const noexcept {
  std::uint64_t n = 0;
  for (const ReportQueue* q : queues_) n += q->dropped();
  return n;
}

void Reporter::collect(common::Exposition& out) const {
  out.family("dnsfence_witness_reports_total",
             "Queries under the witness zone, by what became of their report to the witness",
             common::Exposition::Type::Counter);
  out.sample({{"outcome", "sent"}}, sent());
  out.sample({{"outcome", "dropped_full"}}, dropped_full());
  out.sample({{"outcome", "dropped_unreachable"}}, unreachable());
}

}  // namespace dnsfence::proxy
