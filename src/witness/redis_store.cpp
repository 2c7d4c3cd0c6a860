#include "witness/redis_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

namespace dnsfence::witness {
namespace {

using Steady = std::chrono::steady_clock;
using Fields = std::vector<std::pair<std::string, std::string>>;
constexpr std::size_t kMaxLostRuns = 4096;   // runs whose lost observations are counted one by one
constexpr std::size_t kKeepCapacity = 4096;  // larger queues are released once written
constexpr auto kRetryMin = std::chrono::milliseconds(50);
constexpr std::size_t kBatchTarget = 1024;  // observations that end the linger at once

std::string default_instance() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return std::string(host.data()) + ":" + std::to_string(::getpid());
}

Fields fields_of(const redisReply* r) {
  Fields out;
  for (std::size_t i = 0; i + 1 < reply_elements(r); i += 2)
    out.emplace_back(reply_string(reply_element(r, i)), reply_string(reply_element(r, i + 1)));
  return out;
}

// A span of time in which observations were lost, and how many.
struct LostWindow {
  TimePoint from;
  TimePoint to;
  std::uint64_t count = 0;
  void add(TimePoint at, std::uint64_t n) { merge(LostWindow{at, at, n}); }
  void merge(const LostWindow& o) {
    if (o.count == 0) return;
    if (count == 0) {
      *this = o;
      return;
    }
    from = std::min(from, o.from);
    to = std::max(to, o.to);
    count += o.count;
  }
};

}  // namespace

struct RedisStore::Impl {
  using Op = std::function<void(RedisClient*)>;  // nullptr: Redis is unreachable now

  RedisOptions options;
  const Clock& clock;
  RedisKeys keys;

  // Shared with the DNS thread and the API: under `mutex`.
  std::mutex mutex;
  std::condition_variable wake;     // the writer waits on it
  std::condition_variable settled;  // flush() waits on it
  std::vector<Observation> queue;
  std::unordered_map<RunId, std::uint64_t, RunIdHash> lost_runs;
  LostWindow lost_window_unattributed;
  std::deque<Op> ops;
  std::uint64_t enqueued = 0;  // observations ever queued
  std::uint64_t written = 0;   // of those, written to Redis (in order)
  bool stopping = false;
  bool retry_due = true;
  std::string last_error;  // why Redis was last unusable, for /status

  std::atomic<std::size_t> retained{0};  // observations the writer holds, not yet written
  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> written_total{0};
  std::atomic<std::uint64_t> overflowed{0};
  std::atomic<std::uint64_t> errors{0};  // batches Redis answered with an error (retried)

  // The writer's own.
  RedisClient client;
  std::string record_sha;
  std::string lost_sha;
  std::vector<Observation> pending;
  Steady::time_point next_attempt{};
  std::chrono::milliseconds backoff = kRetryMin;
  std::thread thread;

  Impl(RedisOptions o, const Clock& c) : options(std::move(o)), clock(c) {
    keys.prefix = options.prefix;
    if (options.instance.empty()) options.instance = default_instance();
  }

  void run();
  void note_lost(const Observation& o) noexcept;
  bool ensure_connected();
  bool authenticated();
  bool load_scripts();
  void set_error(const std::string& e);
  void disconnected();
  bool write_pending();
  void write_lost(std::unordered_map<RunId, std::uint64_t, RunIdHash>& runs, LostWindow& window);
  void enqueue(Op op);
};

void RedisStore::Impl::note_lost(const Observation& o) noexcept {
  ++overflowed;
  bool counted = false;
  try {
    if (lost_runs.size() < kMaxLostRuns || lost_runs.contains(o.run)) {
      ++lost_runs[o.run];
      counted = true;
    }
  } catch (const std::bad_alloc&) {
    counted = false;  // no memory for one more run: the time window below still says it
  }
  if (!counted) lost_window_unattributed.add(o.at, 1);
}

bool RedisStore::Impl::ensure_connected() {
  if (client.connected()) return true;
  if (Steady::now() < next_attempt) return false;
  if (!client.connect(options.endpoint, options.timeout)) {
    set_error(options.endpoint.to_string() + ": " + client.error());
  } else if (authenticated() && load_scripts()) {
    connected = true;
    backoff = kRetryMin;
    set_error({});
    return true;
  }
  disconnected();
  return false;
}

bool RedisStore::Impl::load_scripts() {
  auto a = client.command({"SCRIPT", "LOAD", std::string(kRecordScript)});
  auto b = client.command({"SCRIPT", "LOAD", std::string(kLostScript)});
  if (!a || !b) {
    set_error(client.error());
    return false;
  }
  if (reply_is_error(a.get()) || reply_is_error(b.get())) {
    set_error("SCRIPT LOAD: " + std::string(reply_string(reply_is_error(a.get()) ? a.get() : b.get())));
    return false;
  }
  record_sha = std::string(reply_string(a.get()));
  lost_sha = std::string(reply_string(b.get()));
  return true;
}

bool RedisStore::Impl::authenticated() {
  if (options.password.empty()) return true;
  auto r = client.command({"AUTH", options.password});
  if (r && !reply_is_error(r.get())) return true;
  set_error(r ? "AUTH: " + std::string(reply_string(r.get())) : client.error());
  return false;
}

void RedisStore::Impl::set_error(const std::string& e) {
  const std::lock_guard lock(mutex);
  last_error = e;
}

void RedisStore::Impl::disconnected() {
  client.close();
  connected = false;
  next_attempt = Steady::now() + backoff;
  backoff = std::min(backoff * 2, options.retry_max);
}

// One pipelined round trip for everything pending: one script call per run. False (and the
// connection closed) unless Redis applied every call; then everything is sent again later, which
// may count a few queries twice (the script merges idempotently otherwise) but loses none. An error
// reply (Redis out of memory, read-only replica) is retried too: the bounded buffer, and the lost
// counts past it, keep that from being silent.
bool RedisStore::Impl::write_pending() {
  const auto commands = record_commands(pending, keys, record_sha, options.limits.max_resolvers_per_run);
  for (const auto& c : commands) {
    if (!client.append(c)) {
      disconnected();
      return false;
    }
  }
  bool failed = false;
  bool noscript = false;
  std::string why;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto reply = client.read();
    if (!reply) {
      disconnected();
      return false;
    }
    if (reply_is_error(reply.get()) && why.empty()) why = std::string(reply_string(reply.get()));
    failed = failed || reply_is_error(reply.get());
    noscript = noscript || (reply_is_error(reply.get()) && reply_string(reply.get()).starts_with("NOSCRIPT"));
  }
  if (!failed) return true;
  ++errors;
  set_error(why);
  disconnected();
  // A restarted Redis forgot the scripts: load them again on a fresh connection, at once.
  if (noscript) next_attempt = Steady::now();
  return false;
}

void RedisStore::Impl::write_lost(std::unordered_map<RunId, std::uint64_t, RunIdHash>& runs, LostWindow& window) {
  std::size_t calls = 0;
  for (const auto& [id, count] : runs) {
    calls += client.append({"EVALSHA", lost_sha, "1", keys.run(id), std::to_string(count)}) ? 1 : 0;
  }
  if (window.count > 0) {
    const auto keep = std::chrono::duration_cast<std::chrono::milliseconds>(2 * options.limits.run_ttl);
    const std::string oldest = std::to_string(to_ms(clock.now()) - keep.count());
    calls += client.append({"ZADD", keys.lost(), std::to_string(to_ms(window.to)),
                            lost_window(options.instance, window.from, window.to, window.count)})
                 ? 1
                 : 0;
    calls += client.append({"ZREMRANGEBYSCORE", keys.lost(), "-inf", "(" + oldest}) ? 1 : 0;
    calls += client.append({"PEXPIRE", keys.lost(), std::to_string(keep.count())}) ? 1 : 0;
  }
  bool ok = client.connected();
  for (std::size_t i = 0; ok && i < calls; ++i) ok = client.read() != nullptr;
  if (ok) {
    runs.clear();
    window = LostWindow{};
    return;
  }
  disconnected();
  // Left in `runs` and `window`: run() gives them back for the next attempt.
}

void RedisStore::Impl::run() {
  std::vector<Observation> taken;
  std::deque<Op> todo;
  std::unordered_map<RunId, std::uint64_t, RunIdHash> lost;
  LostWindow window;
  std::unique_lock lock(mutex);
  for (;;) {
    const auto has_data = [&] {
      return !queue.empty() || !lost_runs.empty() || lost_window_unattributed.count > 0 || !pending.empty();
    };
    const auto ready = [&] { return stopping || !ops.empty() || (has_data() && (connected || retry_due)); };
    if (connected || !has_data()) {
      wake.wait(lock, ready);
    } else {
      wake.wait_until(lock, next_attempt, ready);
    }
    // Let a batch gather for a moment: one round trip (and one script call per run) then carries
    // many observations instead of one, which is most of what the writer and Redis cost. An API
    // call, a full batch or stopping cuts the wait short.
    if (connected && !stopping && ops.empty() && queue.size() < kBatchTarget) {
      wake.wait_for(lock, options.linger, [&] { return stopping || !ops.empty() || queue.size() >= kBatchTarget; });
    }
    taken.swap(queue);
    todo.swap(ops);
    lost.swap(lost_runs);
    window = std::exchange(lost_window_unattributed, LostWindow{});
    const bool stop = stopping;
    lock.unlock();

    pending.insert(pending.end(), taken.begin(), taken.end());
    taken.clear();
    if (taken.capacity() > kKeepCapacity) taken = {};
    retained = pending.size();
    const std::size_t writing = pending.size();
    const bool up = ensure_connected();
    bool wrote = false;
    if (up && !pending.empty() && write_pending()) {
      wrote = true;
      written_total += pending.size();
      pending.clear();
      if (pending.capacity() > kKeepCapacity) pending = {};
      retained = 0;
    }
    if (client.connected() && (!lost.empty() || window.count > 0)) write_lost(lost, window);
    for (auto& op : todo) op(client.connected() ? &client : nullptr);
    todo.clear();

    lock.lock();
    if (wrote) written += writing;
    retry_due = Steady::now() >= next_attempt;
    // What could not be written returns to the shared counters for the next attempt.
    for (const auto& [id, count] : lost) lost_runs[id] += count;
    lost.clear();
    lost_window_unattributed.merge(window);
    window = LostWindow{};
    settled.notify_all();
    if (stop) return;
  }
}

void RedisStore::Impl::enqueue(Op op) {
  {
    const std::lock_guard lock(mutex);
    ops.push_back(std::move(op));
  }
  wake.notify_one();
}

RedisStore::RedisStore(RedisOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), clock)) {
  impl_->queue.reserve(kKeepCapacity);
  impl_->thread = std::thread([this] { impl_->run(); });
}

RedisStore::~RedisStore() {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_one();
  impl_->thread.join();
}

RecordOutcome RedisStore::record(const Observation& o) noexcept {
  Impl& s = *impl_;
  bool wake = false;
  {
    const std::lock_guard lock(s.mutex);
    if (s.queue.size() + s.retained.load(std::memory_order_relaxed) >= s.options.buffer) {
      s.note_lost(o);
      return RecordOutcome::Overflow;
    }
    try {
      s.queue.push_back(o);
    } catch (const std::bad_alloc&) {
      s.note_lost(o);
      return RecordOutcome::Overflow;
    }
    ++s.enqueued;
    // One wake-up per batch (the writer takes all that accumulated), and one when a batch is full.
    wake = s.queue.size() == 1 || s.queue.size() == kBatchTarget;
  }
  if (wake) s.wake.notify_one();
  return RecordOutcome::Queued;
}

void RedisStore::create(const RunSnapshot& run, Created done) {
  Impl& s = *impl_;
  s.enqueue([&s, run, done = std::move(done)](RedisClient* c) {
    if (c == nullptr) return done(std::unexpected(StoreError::Unavailable));
    const std::string id = run.id.to_text();
    const std::string expires = std::to_string(to_ms(run.expires));
    c->append({"ZREMRANGEBYSCORE", s.keys.runs(), "-inf", std::to_string(to_ms(s.clock.now()))});
    c->append({"ZCARD", s.keys.runs()});
    auto purged = c->read();
    auto alive = c->read();
    if (!purged || !alive) return s.disconnected(), done(std::unexpected(StoreError::Unavailable));
    if (reply_integer(alive.get(), 0) >= static_cast<long long>(s.options.limits.max_runs))
      return done(std::unexpected(StoreError::Full));
    std::vector<std::string> hset{"HSET", s.keys.run(run.id)};
    for (auto& f : run_fields(run)) hset.push_back(std::move(f));
    c->append(hset);
    c->append({"PEXPIREAT", s.keys.run(run.id), expires});
    c->append({"ZADD", s.keys.runs(), expires, id});
    bool ok = true;
    for (int i = 0; i < 3; ++i) {
      auto r = c->read();
      if (!r) return s.disconnected(), done(std::unexpected(StoreError::Unavailable));
      ok = ok && !reply_is_error(r.get());
    }
    if (!ok) return done(std::unexpected(StoreError::Unavailable));
    done({});
  });
}

void RedisStore::get(const RunKey& key, Found done) {
  Impl& s = *impl_;
  s.enqueue([&s, key, done = std::move(done)](RedisClient* c) {
    if (c == nullptr) return done(std::unexpected(StoreError::Unavailable));
    const RunId id = key.id();
    const auto keep = std::chrono::duration_cast<std::chrono::milliseconds>(2 * s.options.limits.run_ttl);
    c->append({"HGETALL", s.keys.run(id)});
    c->append({"HGETALL", s.keys.resolvers(id)});
    c->append({"ZRANGEBYSCORE", s.keys.lost(), std::to_string(to_ms(s.clock.now()) - keep.count()), "+inf"});
    c->append({"LRANGE", s.keys.reports(id), "0", "-1"});
    auto run = c->read();
    auto resolvers = c->read();
    auto lost = c->read();
    auto reports = c->read();
    if (!run || !resolvers || !lost || !reports)
      return s.disconnected(), done(std::unexpected(StoreError::Unavailable));
    auto members = [](const auto& reply) {
      std::vector<std::string> out;
      out.reserve(reply_elements(reply.get()));
      for (std::size_t i = 0; i < reply_elements(reply.get()); ++i)
        out.emplace_back(reply_string(reply_element(reply.get(), i)));
      return out;
    };
    auto snapshot = decode_run(key, fields_of(run.get()), fields_of(resolvers.get()), members(lost));
    if (snapshot) snapshot->reports = merge_report_lines(members(reports), snapshot->reports_dropped);
    done(std::move(snapshot));
  });
}

void RedisStore::add_reports(std::vector<ReportObservation> reports, Kept done) {
  Impl& s = *impl_;
  s.enqueue([&s, reports = std::move(reports), done = std::move(done)](RedisClient* c) {
    if (c == nullptr) return done(0);
    // Only runs that still exist get reports: one EXISTS per distinct run, then the lines.
    std::vector<RunId> runs;
    for (const auto& o : reports)
      if (std::find(runs.begin(), runs.end(), o.run) == runs.end()) runs.push_back(o.run);
    for (const auto& id : runs) c->append({"EXISTS", s.keys.run(id)});
    std::vector<RunId> alive;
    for (const auto& id : runs) {
      auto r = c->read();
      if (!r) return s.disconnected(), done(0);
      if (reply_integer(r.get(), 0) == 1) alive.push_back(id);
    }
    const auto keep = std::chrono::duration_cast<std::chrono::milliseconds>(2 * s.options.limits.run_ttl);
    std::size_t kept = 0;
    std::size_t calls = 0;
    for (const auto& id : alive) {
      std::vector<std::string> push{"RPUSH", s.keys.reports(id)};
      for (const auto& o : reports)
        if (o.run == id) push.push_back(encode_report_line(o));
      kept += push.size() - 2;
      c->append(push);
      c->append({"LTRIM", s.keys.reports(id), std::to_string(-static_cast<long long>(kMaxReportsPerRun)), "-1"});
      c->append({"PEXPIRE", s.keys.reports(id), std::to_string(keep.count())});
      calls += 3;
    }
    for (std::size_t i = 0; i < calls; ++i)
      if (!c->read()) return s.disconnected(), done(0);
    done(kept);
  });
}

StoreStatus RedisStore::status() {
  StoreStatus st;
  st.kind = "redis";
  st.connected = impl_->connected.load();
  st.written = impl_->written_total.load();
  st.overflowed = impl_->overflowed.load();
  const std::lock_guard lock(impl_->mutex);
  st.buffered = impl_->queue.size() + impl_->retained.load();
  st.error = impl_->last_error;
  return st;
}

bool RedisStore::flush(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  const std::uint64_t target = s.enqueued;
  s.wake.notify_one();
  return s.settled.wait_for(lock, timeout, [&] { return s.written >= target; });
}

}  // namespace dnsfence::witness
