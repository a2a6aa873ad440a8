// The writer thread: see writer.hpp. Everything below `// ---- writer
// thread` runs on that thread only; the loop-thread entry points touch
// nothing but the intake under mutex_.
#include "writer.hpp"

#include <algorithm>
#include <filesystem>
#include <random>

#include <spdlog/spdlog.h>

#include "migrations.hpp"
#include "prune.hpp"

namespace weft::store {
namespace {

using std::chrono::steady_clock;

constexpr std::size_t kMaxClockEvents = 1024;        // a clock that jumps more often is broken; oldest kept
constexpr std::size_t kRetentionChunk = 5000;         // rows per retention transaction
constexpr Duration kStopBudget = std::chrono::seconds(3);  // a clean close waits at most this for a locked DB
constexpr Duration kErrorPause = std::chrono::seconds(1);
constexpr Duration kNotePeriod = std::chrono::minutes(1);  // repeated conditions (full disk, size cap) log at most this often

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

// An SqliteError's text without the leading "<path>: " (log lines name the path already).
std::string detail(const sql::SqliteError& e, const std::string& path) {
  const std::string what = e.what();
  return what.rfind(path + ": ", 0) == 0 ? what.substr(path.size() + 2) : what;
}

StoreError open_error(const std::string& path, const std::string& what) {
  return StoreError(what + "; check [store] path = \"" + path +
                    "\": its directory must exist or be creatable, and be writable by this user");
}

}  // namespace

Writer::Writer(const StoreOptions& options, AtomicCounters& counters, std::shared_ptr<spdlog::logger> log)
    : options_(options),
      counters_(counters),
      log_(std::move(log)),
      busy_(std::chrono::milliseconds(10), std::chrono::milliseconds(500), options.busy_deadline, random_seed()) {}

Writer::~Writer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    stop_deadline_ = steady_clock::now() + std::min(kStopBudget, options_.busy_deadline);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  fail_all_waiters("the store is closed");  // if the thread never ran
}

// ---- loop thread ----------------------------------------------------------

void Writer::open(OpenDone done) {
  {
    std::lock_guard lock(mutex_);
    jobs_.emplace_back([this, done = std::move(done)](bool run) {
      if (!run) return done(std::make_exception_ptr(StoreError(options_.path + ": the store is closed")));
      do_open(done);
    });
    // Under the mutex: open() may be called from two threads at once.
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  wake_.notify_one();
}

std::uint64_t Writer::append(const Reading& reading) {
  const std::uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  const SteadyTime now = steady_clock::now();
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= options_.queue_capacity) {
      const std::uint64_t lost = queue_.front().seq;
      queue_.pop_front();
      if (!dropped_.empty() && dropped_.back().second + 1 == lost) dropped_.back().second = lost;
      else dropped_.emplace_back(lost, lost);
      if (!pending_since_) pending_since_ = now;
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    }
    queue_.push_back(Queued{seq, reading, now});
    wake = queue_.size() == 1 || queue_.size() == options_.batch_rows;
  }
  if (wake) wake_.notify_one();
  return seq;
}

void Writer::clock_event(const BootId& boot, std::int64_t mono_ns, std::int64_t offset_ns) {
  {
    std::lock_guard lock(mutex_);
    if (clock_queue_.size() >= kMaxClockEvents) clock_queue_.erase(clock_queue_.begin());
    clock_queue_.push_back(ClockRow{boot, mono_ns, offset_ns});
    if (!pending_since_) pending_since_ = steady_clock::now();
  }
  wake_.notify_one();
}

void Writer::when_flushed(std::shared_ptr<Completion<std::uint64_t>> done) {
  const std::uint64_t target = last_assigned();
  std::uint64_t committed = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return done->fail(std::make_exception_ptr(StoreError(options_.path + ": the store is closed")));
    committed = counters_.committed_seq.load(std::memory_order_acquire);
    if (committed < target) {
      flush_waiters_.emplace_back(target, std::move(done));
      return;
    }
  }
  done->complete_value(committed);
}

void Writer::mark_delivered(std::uint64_t first, std::uint64_t last, std::shared_ptr<Completion<bool>> done) {
  {
    std::lock_guard lock(mutex_);
    jobs_.emplace_back([this, first, last, done](bool run) {
      if (!run) return done->fail(std::make_exception_ptr(StoreError(options_.path + ": the store is closed")));
      try {
        do_mark_delivered(first, last);
        done->complete_value(true);
      } catch (...) {
        done->fail(std::current_exception());
      }
    });
  }
  wake_.notify_one();
}

std::size_t Writer::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

// ---- writer thread --------------------------------------------------------

bool Writer::due(SteadyTime now) const {
  if (!jobs_.empty()) return true;
  if (!db_) return false;
  if (!queue_.empty() && (queue_.size() >= options_.batch_rows || now - queue_.front().at >= options_.batch_age))
    return true;
  return pending_since_ && now - *pending_since_ >= options_.batch_age;
}

void Writer::wait_for_work(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    const SteadyTime now = steady_clock::now();
    if (stopping_ || due(now) || (db_ && now >= next_housekeeping_)) return;
    SteadyTime until = db_ ? next_housekeeping_ : now + std::chrono::hours(1);
    if (db_ && !queue_.empty()) until = std::min(until, queue_.front().at + options_.batch_age);
    if (db_ && pending_since_) until = std::min(until, *pending_since_ + options_.batch_age);
    wake_.wait_until(lock, until);
  }
}

Writer::Batch Writer::take() {
  Batch b;
  b.jobs.swap(jobs_);
  if (!db_) return b;
  const std::size_t n = std::min(queue_.size(), options_.batch_rows);
  b.readings.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    b.readings.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  b.clock_events.swap(clock_queue_);
  b.dropped.swap(dropped_);
  pending_since_.reset();
  return b;
}

void Writer::run() {
  for (;;) {
    Batch batch;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      wait_for_work(lock);
      stopping = stopping_;
      batch = take();
    }
    for (auto& job : batch.jobs) job(true);
    if (db_ && !batch.empty()) commit(batch);
    if (stopping) {
      std::lock_guard lock(mutex_);
      const bool drained = queue_.empty() && clock_queue_.empty() && dropped_.empty() && jobs_.empty();
      if (drained || !db_ || steady_clock::now() >= *stop_deadline_) break;
      continue;
    }
    if (db_ && steady_clock::now() >= next_housekeeping_) housekeeping();
  }
  std::size_t left = 0;
  {
    std::lock_guard lock(mutex_);
    left = queue_.size();
  }
  if (left > 0 && log_)
    log_->warn("{}: closing with {} readings not committed (never acknowledged; the database stayed locked)",
               options_.path, left);
  fail_all_waiters("the store is closed");
  if (db_ && log_)
    log_->info("{}: closed; committed through seq {}", options_.path,
               counters_.committed_seq.load(std::memory_order_acquire));
  rows_.reset();
  db_.reset();
}

void Writer::do_open(const OpenDone& done) {
  if (db_) return done(nullptr);
  try {
    const std::filesystem::path path(options_.path);
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw open_error(options_.path, options_.path + ": cannot create its directory: " + ec.message());
    try {
      db_.emplace(options_.path, sql::OpenMode::read_write_create);
    } catch (const sql::SqliteError& e) {
      throw open_error(options_.path, e.what());
    }
    sql::Db& db = *db_;
    // While opening, another process's lock is waited for inside SQLite
    // (bounded by busy_deadline); afterwards the writer retries itself.
    db.busy_timeout(static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(options_.busy_deadline).count()));
    db.exec("PRAGMA auto_vacuum = INCREMENTAL");  // takes effect only on a new, empty database
    {
      sql::Statement wal(db, "PRAGMA journal_mode = WAL");
      const std::string mode = wal.step() ? wal.text(0) : "";
      if (mode != "wal")
        throw StoreError(options_.path + ": cannot switch the database to WAL mode (journal_mode is '" + mode +
                         "'); put it on a local file system that supports shared memory (not NFS)");
    }
    db.exec(options_.synchronous == StoreOptions::Synchronous::full ? "PRAGMA synchronous = FULL"
                                                                    : "PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA journal_size_limit = 4194304");  // truncate the WAL to 4 MiB after checkpoints
    std::uint64_t hard = options_.hard_max_db_size;
    if (hard == 0 && options_.max_db_size != 0) hard = options_.max_db_size + options_.max_db_size / 4;
    if (hard != 0) {
      const auto page = static_cast<std::uint64_t>(db.query_int("PRAGMA page_size"));
      db.exec("PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(hard / page, 16)));
      // Checkpoint more often on a small cap, so the WAL stays small too.
      db.exec("PRAGMA wal_autocheckpoint = " + std::to_string(std::clamp<std::uint64_t>(hard / page / 4, 64, 1000)));
    }
    migrate(db);
    if (db.query_int("PRAGMA auto_vacuum") != 2 && log_)
      log_->warn("{}: auto_vacuum is not INCREMENTAL (an old file?): the file will not shrink after pruning; "
                 "run `sqlite3 {} 'PRAGMA auto_vacuum=INCREMENTAL; VACUUM'` while weftd is stopped",
                 options_.path, options_.path);
    rows_.emplace(db);
    delivered_.clear();
    {
      sql::Statement st(db, "SELECT first_seq, last_seq FROM delivered ORDER BY first_seq");
      while (st.step()) delivered_.insert(static_cast<std::uint64_t>(st.int64(0)), static_cast<std::uint64_t>(st.int64(1)));
    }
    const auto top = static_cast<std::uint64_t>(
        db.query_int("SELECT max(coalesce((SELECT max(seq) FROM readings), 0), "
                     "coalesce((SELECT max(last_seq) FROM delivered), 0), "
                     "coalesce((SELECT max(last_seq) FROM lost), 0))"));
    db.busy_timeout(0);
    counters_.committed_seq.store(top, std::memory_order_release);
    next_seq_.store(top + 1, std::memory_order_release);
    counters_.db_size_bytes.store(measure(db).file_bytes(), std::memory_order_relaxed);
    next_housekeeping_ = steady_clock::now() + options_.housekeeping_period;
    opened_.store(true, std::memory_order_release);
    if (log_) log_->info("{}: open (schema {}, WAL, synchronous {}), next seq {}", options_.path, kSchemaVersion,
                         to_string(options_.synchronous), top + 1);
    done(nullptr);
  } catch (const sql::SqliteError& e) {
    rows_.reset();
    db_.reset();
    done(std::make_exception_ptr(StoreError(
        std::string(e.what()) +
        (e.is_busy() ? "; another process held the database lock for longer than busy_deadline: find it with `fuser " +
                           options_.path + "`"
                     : "; if this is not a weft store, move it aside or change [store] path"))));
  } catch (...) {
    rows_.reset();
    db_.reset();
    done(std::current_exception());
  }
}

void Writer::commit(Batch& batch) {
  const SteadyTime started = steady_clock::now();
  const bool ok = write(
      [&] {
        for (const auto& c : batch.clock_events) rows_->insert_clock_event(c.boot, c.mono_ns, c.offset_ns);
        for (const auto& [first, last] : batch.dropped) rows_->add_lost(first, last, "dropped (queue full)");
        for (const auto& q : batch.readings) rows_->insert_reading(q.seq, q.reading);
      },
      "commit");
  if (!ok) {
    if (log_) log_->warn("{}: {} readings not committed before close", options_.path, batch.readings.size());
    return;
  }
  const Duration latency = steady_clock::now() - started;
  std::uint64_t top = 0;
  if (!batch.readings.empty()) top = batch.readings.back().seq;
  std::uint64_t dropped = 0;
  for (const auto& [first, last] : batch.dropped) {
    top = std::max(top, last);
    dropped += last - first + 1;
  }
  counters_.rows_written.fetch_add(batch.readings.size(), std::memory_order_relaxed);
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  counters_.last_commit_latency_ns.store(latency.count(), std::memory_order_relaxed);
  if (options_.commit_observer) options_.commit_observer(batch.readings.size(), latency);
  if (dropped > 0 && log_)
    log_->warn("{}: {} readings were dropped (queue of {} full while the database was slow or locked); "
               "recorded as lost: seqs {}..{}",
               options_.path, dropped, options_.queue_capacity, batch.dropped.front().first, batch.dropped.back().second);
  if (top > 0) publish_committed(top);
  if (log_)
    log_->debug("committed {} readings through seq {} in {:.1f} ms", batch.readings.size(), top,
                seconds(latency) * 1e3);
  enforce_size_cap();
}

void Writer::do_mark_delivered(std::uint64_t first, std::uint64_t last) {
  if (!db_) throw StoreError(options_.path + ": the store is not open");
  const std::uint64_t committed = counters_.committed_seq.load(std::memory_order_acquire);
  if (first == 0 || last < first || last > committed)
    throw StoreError(options_.path + ": mark_delivered(" + std::to_string(first) + ", " + std::to_string(last) +
                     "): not a range of committed seqs (1.." + std::to_string(committed) + ")");
  RangeSet merged = delivered_;
  const RangeSet::Range range = merged.insert(first, last);
  if (!write([&] { rows_->put_delivered(range.first, range.second); }, "mark delivered"))
    throw StoreError(options_.path + ": closed before the delivery of " + std::to_string(first) + ".." +
                     std::to_string(last) + " was recorded");
  delivered_ = std::move(merged);
}

void Writer::housekeeping() {
  next_housekeeping_ = steady_clock::now() + options_.housekeeping_period;
  if (options_.retention > Duration::zero()) {
    const std::int64_t now_wall =
        std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::int64_t cutoff = now_wall - options_.retention.count();
    PruneCount total;
    for (;;) {
      PruneCount c;
      if (!write([&] { c = prune_expired(*db_, *rows_, delivered_, cutoff, kRetentionChunk); }, "retention")) return;
      total.delivered += c.delivered;
      total.undelivered += c.undelivered;
      if (c.total() < kRetentionChunk) break;
    }
    if (total.total() > 0) {
      counters_.pruned_delivered.fetch_add(total.delivered, std::memory_order_relaxed);
      counters_.pruned_undelivered.fetch_add(total.undelivered, std::memory_order_relaxed);
      write([&] { shrink(*db_, options_.max_db_size / 10); }, "vacuum");
      if (log_) {
        if (total.undelivered > 0)
          log_->warn("{}: retention {:.0f} s: deleted {} delivered and {} never delivered readings (recorded as lost)",
                     options_.path, seconds(options_.retention), total.delivered, total.undelivered);
        else
          log_->info("{}: retention {:.0f} s: deleted {} delivered readings", options_.path,
                     seconds(options_.retention), total.delivered);
      }
    }
  }
  enforce_size_cap();
}

void Writer::enforce_size_cap() {
  DbSize size = measure(*db_);
  counters_.db_size_bytes.store(size.file_bytes(), std::memory_order_relaxed);
  const std::uint64_t cap = options_.max_db_size;
  if (cap == 0 || size.used_bytes() <= cap) return;
  const std::uint64_t target = cap - cap / 10;  // prune to 90 %, so the cap is not met again at the next batch
  // Rows to delete, from the seq span (>= the row count, O(1) unlike count(*)).
  const auto span = static_cast<std::uint64_t>(
      db_->query_int("SELECT coalesce(max(seq) - min(seq) + 1, 0) FROM readings"));
  PruneCount total;
  while (size.used_bytes() > target) {
    const std::uint64_t excess = size.used_bytes() - target;
    const auto chunk = static_cast<std::size_t>(
        std::max<std::uint64_t>(64, span * excess / std::max<std::uint64_t>(size.used_bytes(), 1)));
    PruneCount c;
    const bool ok = write(
        [&] {
          c = prune_oldest_delivered(*db_, delivered_, chunk);
          if (c.total() == 0) c = prune_oldest(*db_, *rows_, delivered_, chunk, "pruned (size cap)");
        },
        "size cap");
    if (!ok) break;
    total.delivered += c.delivered;
    total.undelivered += c.undelivered;
    if (c.total() == 0) break;
    size = measure(*db_);
  }
  write([&] { shrink(*db_, cap / 10); }, "vacuum");
  size = measure(*db_);
  counters_.db_size_bytes.store(size.file_bytes(), std::memory_order_relaxed);
  counters_.pruned_delivered.fetch_add(total.delivered, std::memory_order_relaxed);
  counters_.pruned_undelivered.fetch_add(total.undelivered, std::memory_order_relaxed);
  cap_pruned_.delivered += total.delivered;
  cap_pruned_.undelivered += total.undelivered;
  if (!log_ || !note_due(last_cap_note_)) return;
  if (cap_pruned_.undelivered > 0)
    log_->warn("{}: size cap {} bytes: deleted {} delivered and {} never delivered readings (recorded as lost) "
               "since the last note; the file is {} bytes",
               options_.path, cap, cap_pruned_.delivered, cap_pruned_.undelivered, size.file_bytes());
  else
    log_->info("{}: size cap {} bytes: deleted {} delivered readings since the last note; the file is {} bytes",
               options_.path, cap, cap_pruned_.delivered, size.file_bytes());
  cap_pruned_ = {};
}

void Writer::make_room() {
  // On a really full disk the WAL cannot grow either: fold it back first.
  try {
    db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } catch (const sql::SqliteError&) {
  }
  const std::size_t chunk = std::max<std::size_t>(2 * options_.batch_rows, 256);
  PruneCount c;
  try {
    sql::Transaction tx(*db_);
    c = prune_oldest_delivered(*db_, delivered_, chunk);
    if (c.total() == 0) c = prune_oldest(*db_, *rows_, delivered_, chunk, "pruned (disk full)");
    tx.commit();
    rows_->committed();
  } catch (const sql::SqliteError& e) {
    rows_->rolled_back();
    if (log_) log_->debug("{}: making room failed: {}", options_.path, e.what());
    pause(kErrorPause);
    return;
  }
  counters_.pruned_delivered.fetch_add(c.delivered, std::memory_order_relaxed);
  counters_.pruned_undelivered.fetch_add(c.undelivered, std::memory_order_relaxed);
  if (c.total() == 0) {
    if (log_) log_->error("{}: disk full and nothing left to delete; readings queue in memory until space is freed",
                          options_.path);
    pause(kErrorPause);
    return;
  }
  lost_unreported_ += c.undelivered;
  if (log_ && lost_unreported_ > 0 && note_due(last_full_lost_note_)) {
    log_->warn("{}: disk full: deleted {} never delivered readings (recorded as lost) to make room", options_.path,
               lost_unreported_);
    lost_unreported_ = 0;
  }
}

bool Writer::note_due(SteadyTime& last) {
  const SteadyTime now = steady_clock::now();
  if (last != SteadyTime{} && now - last < kNotePeriod) return false;
  last = now;
  return true;
}

bool Writer::write(const std::function<void()>& body, const char* what) {
  for (;;) {
    try {
      {
        sql::Transaction tx(*db_);
        body();
        tx.commit();
      }
      rows_->committed();
      const SteadyTime now = steady_clock::now();
      if (auto lasted = busy_.on_success(now); lasted && log_)
        log_->info("{}: the database lock was released after {:.1f} s; writing again", options_.path, seconds(*lasted));
      if (error_episode_ && log_) log_->info("{}: writing works again", options_.path);
      full_episode_ = error_episode_ = false;
      return true;
    } catch (const sql::SqliteError& e) {
      rows_->rolled_back();
      if (past_stop_deadline()) return false;
      if (e.is_busy()) {
        const BusyStep step = busy_.on_busy(steady_clock::now());
        counters_.busy_retries.fetch_add(1, std::memory_order_relaxed);
        if (step.episode_began) {
          counters_.busy_episodes.fetch_add(1, std::memory_order_relaxed);
          if (log_)
            log_->warn("{}: the database is locked by another process ({}); retrying with backoff, readings "
                       "queue in memory (up to {})",
                       options_.path, detail(e, options_.path), options_.queue_capacity);
        }
        if (step.deadline_passed && log_)
          log_->error("{}: still locked after {:.1f} s (busy_deadline); still retrying, and past {} queued readings "
                      "the oldest are dropped; find the holder with `fuser {}`",
                      options_.path, seconds(options_.busy_deadline), options_.queue_capacity, options_.path);
        pause(step.wait);
        continue;
      }
      if (e.is_full()) {
        counters_.disk_full.fetch_add(1, std::memory_order_relaxed);
        if (!full_episode_ && log_ && note_due(last_full_note_))
          log_->warn("{}: disk full during {} ({}): deleting the oldest readings, delivered ones first "
                     "(logged at most once a minute; counters show the rest)",
                     options_.path, what, detail(e, options_.path));
        full_episode_ = true;
        make_room();
        continue;
      }
      if (!error_episode_ && log_)
        log_->error("{}: {} failed: {}; retrying every {:.0f} s", options_.path, what, detail(e, options_.path),
                    seconds(kErrorPause));
      error_episode_ = true;
      pause(kErrorPause);
    }
  }
}

void Writer::publish_committed(std::uint64_t seq) {
  std::vector<std::shared_ptr<Completion<std::uint64_t>>> ready;
  {
    std::lock_guard lock(mutex_);
    counters_.committed_seq.store(seq, std::memory_order_release);
    auto keep = std::partition(flush_waiters_.begin(), flush_waiters_.end(),
                               [seq](const auto& w) { return w.first > seq; });
    for (auto it = keep; it != flush_waiters_.end(); ++it) ready.push_back(std::move(it->second));
    flush_waiters_.erase(keep, flush_waiters_.end());
  }
  for (auto& w : ready) w->complete_value(seq);
}

void Writer::pause(Duration d) {
  std::unique_lock lock(mutex_);
  const SteadyTime until = steady_clock::now() + d;
  for (;;) {
    SteadyTime end = until;
    if (stop_deadline_) end = std::min(end, *stop_deadline_);
    if (steady_clock::now() >= end) return;
    wake_.wait_until(lock, end);
  }
}

bool Writer::past_stop_deadline() const {
  std::lock_guard lock(mutex_);
  return stop_deadline_ && steady_clock::now() >= *stop_deadline_;
}

void Writer::fail_all_waiters(const std::string& why) {
  std::vector<std::shared_ptr<Completion<std::uint64_t>>> waiters;
  std::deque<std::function<void(bool)>> jobs;
  {
    std::lock_guard lock(mutex_);
    for (auto& w : flush_waiters_) waiters.push_back(std::move(w.second));
    flush_waiters_.clear();
    jobs.swap(jobs_);
  }
  const auto error = std::make_exception_ptr(StoreError(options_.path + ": " + why));
  for (auto& w : waiters) w->fail(error);
  for (auto& job : jobs) job(false);
}

}  // namespace weft::store
