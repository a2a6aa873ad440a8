// The writer thread: see writer.hpp. Everything below `// ---- writer
// thread` runs on that thread only; the loop-thread entry points touch
// nothing but the intake under mutex_.
#include "writer.hpp"

#include <algorithm>
#include <filesystem>
#include <cstring>
#include <ctime>
#include <random>

#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include <spdlog/spdlog.h>

#include "migrations.hpp"
#include "weft/core/realtime.hpp"
#include "prune.hpp"

namespace weft::store {
namespace {

using std::chrono::steady_clock;

constexpr std::size_t kMaxClockEvents = 1024;        // a clock that jumps more often is broken; oldest kept
constexpr std::size_t kRetentionChunk = 5000;         // rows per retention transaction
constexpr Duration kStopBudget = std::chrono::seconds(3);  // a clean close waits at most this for a locked DB
constexpr Duration kErrorPause = std::chrono::seconds(1);
constexpr Duration kNotePeriod = std::chrono::minutes(1);  // repeated conditions (full disk, size cap) log at most this often
constexpr std::size_t kFullPruneMin = 64;  // rows pruned at least per free_disk() round
constexpr int kMaxFreeRounds = 4;          // prune rounds per free_disk() while the ballast's reserve does not fit
constexpr std::size_t kMaxIncidents = 16;            // kept for the console and the status line (newest)
constexpr const char* kUnusedWhy = "unused seqs (reserved before a restart or power cut; any readings lost)";

// Seqs reserved per durable raise of the seq mark: one small fsync'd write
// per block, and at most this many unused seqs recorded as a gap after an
// unclean stop.
std::uint64_t reserve_block(const StoreOptions& o) {
  return std::max<std::uint64_t>(1024, 64 * static_cast<std::uint64_t>(o.batch_rows));
}

std::string utc_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

void raise_to(std::atomic<std::uint64_t>& a, std::uint64_t v) {
  std::uint64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_acq_rel)) {
  }
}

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// fsync of the connection's WAL, through SQLite's VFS (so the tests'
// power-cut VFS sees it); false if there is no WAL open or the sync failed.
bool sync_wal(sql::Db& db) {
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK || wal == nullptr ||
      wal->pMethods == nullptr)
    return false;
  return wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) == SQLITE_OK;
}

// fsync of the connection's main database file, through SQLite's VFS as
// sync_wal; false if the sync failed.
bool sync_main_file(sql::Db& db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods == nullptr)
    return false;
  return file->pMethods->xSync(file, SQLITE_SYNC_NORMAL) == SQLITE_OK;
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

// An SqliteError's text without the leading "<path>: " (log lines name the path already).
std::string detail(const sql::SqliteError& e, const std::string& path) {
  const std::string what = e.what();
  return what.rfind(path + ": ", 0) == 0 ? what.substr(path.size() + 2) : what;
}

// fsync(2) of the directory holding `path`: renames in it are durable
// once this returns 0 (else the errno).
int sync_parent_dir(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
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
      busy_(std::chrono::milliseconds(10), std::chrono::milliseconds(500), options.busy_deadline, random_seed()),
      ballast_(options.path, options.ballast_bytes) {}

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
    if (!thread_.joinable())
      thread_ = std::thread([this] {
        enter_helper_thread("weft-store-w");  // started from the loop: not its real-time policy or CPUs (realtime.hpp)
        run();
      });
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
      dropped_.insert(lost, lost);
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

void Writer::put(PutRecord record) {
  {
    std::lock_guard lock(mutex_);
    if (put_queue_.size() >= Store::kMaxQueuedPuts) {
      put_queue_.pop_front();
      ++puts_dropped_;
    }
    put_queue_.push_back(std::move(record));
    if (!pending_since_) pending_since_ = steady_clock::now();
  }
  wake_.notify_one();
}

std::uint64_t Writer::append_lost(std::uint64_t count, std::string why) {
  if (count == 0) return 0;
  const std::uint64_t first = next_seq_.fetch_add(count, std::memory_order_relaxed);
  const std::uint64_t last = first + count - 1;
  {
    std::lock_guard lock(mutex_);
    if (!lost_runs_.empty() && lost_runs_.back().last + 1 == first && lost_runs_.back().why == why)
      lost_runs_.back().last = last;
    else
      lost_runs_.push_back(LostRun{first, last, std::move(why)});
    if (!pending_since_) pending_since_ = steady_clock::now();
  }
  wake_.notify_one();
  return first;
}

void Writer::when_flushed(std::shared_ptr<Completion<std::uint64_t>> done) {
  const std::uint64_t target = last_assigned();
  std::uint64_t committed = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return done->fail(std::make_exception_ptr(StoreError(options_.path + ": the store is closed")));
    if (!failed_why_.empty()) return done->fail(std::make_exception_ptr(StoreError(failed_why_)));
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
      done->complete_with([&] {
        do_mark_delivered(first, last);
        return true;
      });
    });
  }
  wake_.notify_one();
}

void Writer::when_failed(std::shared_ptr<Completion<std::string>> done) {
  std::string why;
  {
    std::lock_guard lock(mutex_);
    if (failed_why_.empty() && !stopping_) {
      failure_waiters_.push_back(std::move(done));
      return;
    }
    why = failed_why_.empty() ? options_.path + ": the store is closed" : failed_why_;
  }
  done->complete_value(why);
}

StoreHealth Writer::health() const {
  std::lock_guard lock(mutex_);
  StoreHealth h;
  h.state = !failed_why_.empty() ? StoreHealth::State::failed
            : is_open()          ? StoreHealth::State::open
                                 : StoreHealth::State::closed;
  h.error = failed_why_;
  h.incidents = incidents_;
  return h;
}

std::size_t Writer::queue_depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

// ---- writer thread --------------------------------------------------------

bool Writer::due(SteadyTime now) const {
  if (!jobs_.empty()) return true;
  if (read_found_) return true;
  if (!db_) return false;
  if (check_found_) return true;
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
  b.puts.assign(std::make_move_iterator(put_queue_.begin()), std::make_move_iterator(put_queue_.end()));
  put_queue_.clear();
  if (puts_dropped_ > 0 && log_) {
    log_->warn("{}: {} put-log rows dropped (more than {} waited while the database was slow or locked); they are in "
               "the log only",
               options_.path, puts_dropped_, Store::kMaxQueuedPuts);
  }
  puts_dropped_ = 0;
  b.dropped = dropped_.ranges();
  dropped_.clear();
  // Only the lost runs below what stays queued: committed_seq = the batch's
  // top must not pass a reading that is still waiting.
  const std::uint64_t waiting = queue_.empty() ? UINT64_MAX : queue_.front().seq;
  auto below = std::find_if(lost_runs_.begin(), lost_runs_.end(), [&](const LostRun& l) { return l.first > waiting; });
  b.lost_runs.assign(std::make_move_iterator(lost_runs_.begin()), std::make_move_iterator(below));
  lost_runs_.erase(lost_runs_.begin(), below);
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
    try {
      for (auto& job : batch.jobs) job(true);
      if (giving_up_) throw GiveUp(*giving_up_);  // a job's write gave up: the batch waits for the next file
      std::optional<std::string> found;
      {
        std::lock_guard lock(mutex_);
        found.swap(check_found_);
      }
      std::optional<ReadFound> read;
      {
        std::lock_guard lock(mutex_);
        read.swap(read_found_);
      }
      // Damage a read met on another connection counts if that file is
      // still the one at the path (not one moved aside since): also while
      // failed, so the next open moves it aside.
      if (read && read->file == FileId::of(options_.path)) {
        if (!found) found = read->found;
        if (!db_) corrupt_seen_ = read->found;
      }
      if (found && db_) {
        corrupt_seen_ = *found;
        giving_up_ = options_.path + " is corrupt (" + *found + "); it is moved aside when the store opens again";
        throw GiveUp(*giving_up_);
      }
      if (db_ && !batch.empty()) commit(batch);
      if (!stopping && db_ && steady_clock::now() >= next_housekeeping_) housekeeping();
    } catch (const GiveUp&) {
      requeue(batch);
      enter_failed();
    } catch (const sql::SqliteError& e) {  // outside write(): a size measure, a statement prepare
      if (e.is_corrupt()) corrupt_seen_ = detail(e, options_.path);
      giving_up_ = options_.path + ": " + detail(e, options_.path) + "; giving up on the file";
      requeue(batch);
      enter_failed();
    }
    if (stopping) {
      std::lock_guard lock(mutex_);
      const bool drained =
          queue_.empty() && clock_queue_.empty() && dropped_.empty() && lost_runs_.empty() && jobs_.empty();
      if (drained || !db_ || steady_clock::now() >= *stop_deadline_) break;
      continue;
    }
  }
  std::size_t left = 0;
  {
    std::lock_guard lock(mutex_);
    left = queue_.size();
  }
  if (left > 0 && log_)
    log_->warn("{}: closing with {} readings not committed (never acknowledged: the database stayed locked or "
               "failed); their seqs are recorded as lost at the next open",
               options_.path, left);
  fail_all_waiters("the store is closed");
  close_cleanly();
}

void Writer::close_cleanly() {
  stop_check();
  if (!db_) {
    // Failed (no file open): what is still queued can never be committed
    // here. Raise the mark over it (best effort: the file system may be
    // the reason we failed), so the next open records it as a gap.
    const std::uint64_t assigned = last_assigned();
    if (assigned >= reserved_below_) {
      try {
        write_seq_mark(options_.path, SeqMark{assigned + 1, delivered_through()});
        reserved_below_ = assigned + 1;
      } catch (const sql::SqliteError& e) {
        if (log_) log_->debug("{}: could not raise the seq mark at close: {}", options_.path, e.what());
      }
    }
    return claim_.release();
  }
  // A clean close gives the unused rest of the reservation back, so that
  // the next open of this file (record restarting on a new Store, or the
  // next boot) goes on at committed + 1 without a gap. Allowed only once
  // the WAL is checkpointed into the (synced) database file: then every
  // committed seq is durable below the new mark. A seq that was assigned
  // but not committed (readings left queued because the database stayed
  // locked) was never visible, but its reading is lost: the mark is then
  // put just above it, so the next open records it as a gap, never
  // silently. Crash-safe at any point: before the mark's atomic replace
  // the old (higher) mark holds; after it, everything below it is in the
  // file or will be a gap.
  bool durable = false;
  try {
    sql::Statement cp(*db_, "PRAGMA wal_checkpoint(TRUNCATE)");
    durable = cp.step() && cp.int64(0) == 0;
  } catch (const sql::SqliteError& e) {
    if (log_) log_->debug("{}: final checkpoint failed: {}", options_.path, e.what());
  }
  // Another connection (the sqlite3 CLI reading) kept the checkpoint from
  // completing: the commits are still in the WAL, which synchronous=NORMAL
  // has not synced. Syncing it now makes them durable all the same (what
  // synchronous=FULL does at each commit), with our connection still open
  // so the WAL cannot be checkpointed away under us.
  if (!durable) durable = sync_wal(*db_);
  const std::uint64_t committed = counters_.committed_seq.load(std::memory_order_acquire);
  const std::uint64_t assigned = last_assigned();
  const std::uint64_t delivered = delivered_through();
  rows_.reset();
  db_.reset();
  opened_.store(false, std::memory_order_release);
  const std::uint64_t wanted = std::max(committed, assigned) + 1;
  // Not durable: the mark may only go up (to cover seqs left uncommitted).
  const std::uint64_t mark = durable ? wanted : std::max(reserved_below_, wanted);
  if (mark != reserved_below_) {
    try {
      write_seq_mark(options_.path, SeqMark{mark, delivered});
      reserved_below_ = mark;
    } catch (const sql::SqliteError& e) {
      if (log_) log_->warn("{}: could not write the seq mark at close ({}); the next open records seqs up to {} as "
                           "unused", options_.path, e.what(), reserved_below_ - 1);
    }
  }
  if (!durable && reserved_below_ > wanted && log_)
    log_->info("{}: the final checkpoint could not complete nor the WAL be synced; the next open records seqs "
               "{}..{} as unused", options_.path, wanted, reserved_below_ - 1);
  claim_.release();
  if (log_) log_->info("{}: closed; committed through seq {}", options_.path, committed);
}

void Writer::claim_file() {
  if (claim_.held()) return;
  const auto limit = options_.busy_deadline + kStopBudget;  // the old writer's close is bounded by kStopBudget
  if (claim_.acquire(options_.path, std::chrono::milliseconds(0))) return;
  if (log_) log_->info("{}: another Store in this process still has the file open; waiting for it to close",
                       options_.path);
  if (!claim_.acquire(options_.path, limit))
    throw StoreError(options_.path + ": another Store in this process still had the file open after " +
                     fmt::format("{:.0f}", seconds(limit)) +
                     " s; close (destroy) the old Store before opening a new one on the same path");
}

void Writer::requeue(Batch& batch) {
  std::lock_guard lock(mutex_);
  for (auto it = batch.readings.rbegin(); it != batch.readings.rend(); ++it) queue_.push_front(std::move(*it));
  batch.readings.clear();
  for (const auto& [first, last] : batch.dropped) dropped_.insert(first, last);
  batch.dropped.clear();
  lost_runs_.insert(lost_runs_.begin(), std::make_move_iterator(batch.lost_runs.begin()),
                    std::make_move_iterator(batch.lost_runs.end()));
  batch.lost_runs.clear();
  clock_queue_.insert(clock_queue_.begin(), batch.clock_events.begin(), batch.clock_events.end());
  batch.clock_events.clear();
  put_queue_.insert(put_queue_.begin(), std::make_move_iterator(batch.puts.begin()),
                    std::make_move_iterator(batch.puts.end()));
  batch.puts.clear();
  while (put_queue_.size() > Store::kMaxQueuedPuts) {
    put_queue_.pop_front();
    ++puts_dropped_;
  }
  while (queue_.size() > options_.queue_capacity) {
    dropped_.insert(queue_.front().seq, queue_.front().seq);
    queue_.pop_front();
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
  }
  if (clock_queue_.size() > kMaxClockEvents)
    clock_queue_.erase(clock_queue_.begin(), clock_queue_.end() - static_cast<std::ptrdiff_t>(kMaxClockEvents));
  if (!queue_.empty() || !dropped_.empty() || !lost_runs_.empty() || !clock_queue_.empty() || !put_queue_.empty())
    pending_since_ = steady_clock::now();
}

// The writer gives up on this file: close it, fail everyone who waits on
// it, and tell the failure waiters (the record service fails with it).
void Writer::enter_failed() {
  const std::string why = giving_up_.value_or(options_.path + ": the database failed");
  giving_up_.reset();
  error_since_.reset();
  error_episode_ = full_episode_ = false;
  stop_check();
  rows_.reset();
  db_.reset();
  claim_.release();  // the seq mark stays as it is: a next open records its unused rest as a gap
  opened_.store(false, std::memory_order_release);
  std::vector<std::shared_ptr<Completion<std::uint64_t>>> flushers;
  std::vector<std::shared_ptr<Completion<std::string>>> watchers;
  std::size_t queued = 0;
  {
    std::lock_guard lock(mutex_);
    failed_why_ = why;
    for (auto& w : flush_waiters_) flushers.push_back(std::move(w.second));
    flush_waiters_.clear();
    watchers.swap(failure_waiters_);
    queued = queue_.size();
  }
  if (log_)
    log_->error("{}; the store stopped writing this file: {} readings wait in memory (up to {}, then the oldest are "
                "dropped and recorded as lost) until it is opened again",
                why, queued, options_.queue_capacity);
  note_incident(why);
  const auto error = std::make_exception_ptr(StoreError(why));
  for (auto& w : flushers) w->fail(error);
  for (auto& w : watchers) w->complete_value(why);
}

void Writer::note_incident(std::string what) {
  std::lock_guard lock(mutex_);
  incidents_.push_back(utc_stamp() + " " + std::move(what));
  if (incidents_.size() > kMaxIncidents) incidents_.erase(incidents_.begin());
}

std::uint64_t Writer::delivered_through() const {
  const auto first = delivered_.find(1);
  return first ? first->second : 0;
}

void Writer::reserve_through(std::uint64_t top) {
  if (top < reserved_below_) return;
  const std::uint64_t below = top + 1 + reserve_block(options_);
  write_seq_mark(options_.path, SeqMark{below, delivered_through()});
  reserved_below_ = below;
}

std::uint64_t Writer::Batch::top() const noexcept {
  std::uint64_t t = readings.empty() ? 0 : readings.back().seq;
  for (const auto& [first, last] : dropped) t = std::max(t, last);
  for (const auto& l : lost_runs) t = std::max(t, l.last);
  return t;
}

void Writer::do_open(const OpenDone& done) {
  if (giving_up_) return done(std::make_exception_ptr(StoreError(*giving_up_)));  // failing right now
  if (db_) return done(nullptr);
  try {
    const std::filesystem::path path(options_.path);
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw open_error(options_.path, options_.path + ": cannot create its directory: " + ec.message());
    claim_file();
    std::string mark_problem;
    const std::optional<SeqMark> mark = read_seq_mark(options_.path, mark_problem);
    if (!mark_problem.empty() && log_)
      log_->warn("{}; ignoring it (seqs continue from the database alone)", mark_problem);
    // Damage is acted on wherever the open meets it (the connection, the
    // migrations, finish_open's reads and its gap writes), and damage the
    // last file met while running (corrupt_seen_) needs no meeting again.
    // No quick_check here: see file_check.hpp (it runs after the open).
    if (!corrupt_seen_) {
      try {
        open_file();
        finish_open(mark, std::nullopt);
      } catch (const sql::SqliteError& e) {
        if (!e.is_corrupt()) throw;
        corrupt_seen_ = detail(e, options_.path);
      } catch (const GiveUp&) {
        if (!corrupt_seen_) throw;  // finish_open's write() gave up on corruption
      }
    }
    if (corrupt_seen_) {
      giving_up_.reset();
      opened_.store(false, std::memory_order_release);
      const MovedAside moved = move_aside(*corrupt_seen_);
      corrupt_seen_.reset();
      open_file();
      finish_open(mark, moved);
    }
    {
      std::lock_guard lock(mutex_);
      failed_why_.clear();
    }
    restore_ballast();
    start_check();
    done(nullptr);
  } catch (const sql::SqliteError& e) {
    rows_.reset();
    db_.reset();
    claim_.release();
    giving_up_.reset();
    if (e.is_full()) {  // not the file's fault: "if this is not a weft store, move it aside" misled here
      const auto free = ballast_.free_bytes();
      const std::string dir = ballast_.path().substr(0, ballast_.path().rfind('/') + 1);
      done(std::make_exception_ptr(StoreFullError(
          std::string(e.what()) + "; the file system holding it is full (" +
          (free ? std::to_string(*free / 1024) + " KiB free" : std::string("free space unknown")) + " in " + dir +
          "): free space there; the file itself is not at fault")));
      return;
    }
    done(std::make_exception_ptr(StoreError(
        std::string(e.what()) +
        (e.is_busy() ? "; another process held the database lock for longer than busy_deadline: find it with `fuser " +
                           options_.path + "`"
         : e.primary() == SQLITE_READONLY || e.primary() == SQLITE_CANTOPEN || e.primary() == SQLITE_PERM
             ? "; the file or its directory is not writable (a read-only file system?): remount it read-write, "
               "fix its permissions, or change [store] path"
             : "; if this is not a weft store, move it aside or change [store] path"))));
  } catch (...) {
    rows_.reset();
    db_.reset();
    claim_.release();
    giving_up_.reset();
    done(std::current_exception());
  }
}

void Writer::open_file() {
  std::error_code size_ec;
  const auto size = std::filesystem::file_size(options_.path, size_ec);
  const bool fresh = size_ec || size == 0;  // no database yet: this open makes it
  try {
    db_.emplace(options_.path, sql::OpenMode::read_write_create, options_.vfs);
  } catch (const sql::SqliteError& e) {
    throw open_error(options_.path, e.what());
  }
  sql::Db& db = *db_;
  // While opening, another process's lock is waited for inside SQLite
  // (bounded by busy_deadline); afterwards the writer retries itself.
  db.busy_timeout(static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(options_.busy_deadline).count()));
  // A new file gets auto_vacuum and then WAL in two rollback-journal
  // transactions of its first page, each syncing the journal twice, its
  // directory and the file (8 fsyncs, ~4 ms each on the disk measured:
  // most of a first boot's time to READY=1). The journal protects the
  // file's old content, and a new file has none: so both run unsynced, and
  // then the file and its directory are synced once, before anything is
  // written in WAL mode (a WAL beside a database file that never reached
  // the disk is discarded, commits and all). A power cut inside them
  // leaves at worst a torn first page holding nothing: the next open moves
  // it aside as corrupt and starts a new file.
  if (fresh) db.exec("PRAGMA synchronous = OFF");
  db.exec("PRAGMA auto_vacuum = INCREMENTAL");  // takes effect only on a new, empty database
  {
    sql::Statement wal(db, "PRAGMA journal_mode = WAL");
    const std::string mode = wal.step() ? wal.text(0) : "";
    if (mode != "wal")
      throw StoreError(options_.path + ": cannot switch the database to WAL mode (journal_mode is '" + mode +
                       "'); put it on a local file system that supports shared memory (not NFS)");
  }
  // On every open, not only a fresh one: a process that died between the
  // unsynced switch and this sync left a non-empty file that may still not
  // be on the disk, and this open cannot tell it from a synced one. On a
  // file already on the disk the two syncs find nothing to write.
  if (!sync_main_file(db))
    throw StoreError(options_.path + ": cannot fsync the database file; check the disk (dmesg) and [store] path");
  if (const int err = sync_parent_dir(options_.path); err != 0)
    throw StoreError(options_.path + ": cannot fsync its directory: " + std::strerror(err) +
                     "; check the disk (dmesg) and [store] path");
  db.exec(options_.synchronous == StoreOptions::Synchronous::full ? "PRAGMA synchronous = FULL"
                                                                  : "PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA journal_size_limit = 4194304");  // truncate the WAL to 4 MiB after checkpoints
  std::uint64_t hard = options_.hard_max_db_size;
  if (hard == 0 && options_.max_db_size != 0) hard = options_.max_db_size + options_.max_db_size / 4;
  const auto page = static_cast<std::uint64_t>(db.query_int("PRAGMA page_size"));
  wal_pages_ = 1000;  // SQLite's default: 4 MiB of WAL before a checkpoint
  if (hard != 0) {
    db.exec("PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(hard / page, 16)));
    // Checkpoint more often on a small cap, so the WAL stays small too.
    wal_pages_ = std::clamp<std::uint64_t>(hard / page / 4, 64, 1000);
  }
  // And on a small file system: a WAL folded only at 4 MiB filled a 4 MiB
  // card with nothing but WAL (the database file 4 KiB), and the fold
  // that would have made room needed as much room again, so nothing was
  // ever pruned or committed. At most an eighth of the file system.
  if (const auto fs = ballast_.file_system_bytes())
    wal_pages_ = std::min(wal_pages_, std::max<std::uint64_t>(*fs / page / 8, 64));
  if (wal_pages_ != 1000) db.exec("PRAGMA wal_autocheckpoint = " + std::to_string(wal_pages_));
  migrate(db);
  if (db.query_int("PRAGMA auto_vacuum") != 2 && log_)
    log_->warn("{}: auto_vacuum is not INCREMENTAL (an old file?): the file will not shrink after pruning; "
               "run `sqlite3 {} 'PRAGMA auto_vacuum=INCREMENTAL; VACUUM'` while weftd is stopped",
               options_.path, options_.path);
}

// The file was opened (or reopened): check it in the background. Its
// verdict is acted on by run() (check_found_), between batches.
void Writer::start_check() {
  stop_check();
  if (!options_.background_check) return;
  const SteadyTime started = steady_clock::now();
  check_ = std::make_unique<FileCheck>(
      options_.path, options_.vfs,
      [this, started](std::optional<std::string> found) {
        if (!found) {
          if (log_) log_->info("{}: quick_check ok ({:.1f} s, in the background)", options_.path,
                               seconds(steady_clock::now() - started));
          return;
        }
        {
          std::lock_guard lock(mutex_);
          check_found_ = std::move(found);
        }
        wake_.notify_all();
      },
      [this](std::string why) {
        // Reported, never fatal: the file may be fine, and damage is still
        // acted on when a read or write meets it.
        const std::string what = options_.path + ": the background quick_check could not run (" + why +
                                 "); damage is still found when a read or write meets it";
        if (log_) log_->warn("{}", what);
        note_incident(what);
      });
}

void Writer::stop_check() {
  check_.reset();  // interrupts and joins
  std::lock_guard lock(mutex_);
  check_found_.reset();  // about the file being closed or moved
}

void Writer::report_corrupt(std::string found, std::optional<FileId> file) {
  if (!file) return;  // the reader could not stat what it opened: nothing to match it with
  {
    std::lock_guard lock(mutex_);
    if (read_found_) return;  // one is enough; the first one is kept
    read_found_ = ReadFound{std::move(found), *file};
  }
  wake_.notify_all();
}

Writer::MovedAside Writer::move_aside(const std::string& found) {
  stop_check();
  rows_.reset();
  db_.reset();
  MovedAside moved{options_.path + ".corrupt-" + utc_stamp(), found, std::nullopt};
  std::error_code ec;
  for (int n = 2; std::filesystem::exists(moved.path, ec); ++n)
    moved.path = options_.path + ".corrupt-" + utc_stamp() + "-" + std::to_string(n);
  std::filesystem::rename(options_.path, moved.path, ec);
  if (ec)
    throw StoreError(options_.path + " is corrupt (" + found + ") and cannot be moved aside to " + moved.path + ": " +
                     ec.message() + "; move it away by hand or change [store] path");
  for (const char* suffix : {"-wal", "-shm"}) {
    if (std::filesystem::exists(options_.path + suffix, ec)) std::filesystem::rename(options_.path + suffix, moved.path + suffix, ec);
    if (ec && log_) log_->warn("{}{}: cannot move it aside: {}", options_.path, suffix, ec.message());
  }
  // Durable before a new file is made under the name: a power cut must not
  // bring the corrupt file back beside (or instead of) the new one.
  if (const int err = sync_parent_dir(options_.path); err != 0 && log_)
    log_->warn("{}: cannot fsync its directory after moving the corrupt file aside: {}", options_.path,
               std::strerror(err));
  // Its highest seq, if SQLite can still read that much (only needed
  // when there is no seq mark, e.g. a file from an older weftd).
  try {
    sql::Db old(moved.path, sql::OpenMode::read_only);
    moved.salvaged_top = static_cast<std::uint64_t>(
        old.query_int("SELECT max(coalesce((SELECT max(seq) FROM readings), 0), "
                      "coalesce((SELECT max(last_seq) FROM delivered), 0), "
                      "coalesce((SELECT max(last_seq) FROM lost), 0))"));
  } catch (const sql::SqliteError&) {
  }
  return moved;
}

// Where the seqs go on from, and what is recorded as a gap:
//  - a fresh process starts at max(top + 1, the mark); the seqs between were
//    reserved (maybe committed, maybe sent) but are not in the file: a gap;
//  - a reopen in the same process (after a failure) goes on from next_seq_
//    (the queue holds the seqs above committed_seq) inside the reservation;
//  - a corrupt file moved aside: the seqs it held (after the delivered
//    prefix) are a gap, from the mark, this process's committed_seq, or
//    what could be read from it.
void Writer::finish_open(const std::optional<SeqMark>& mark, const std::optional<MovedAside>& moved) {
  sql::Db& db = *db_;
  const bool in_process = ever_opened_.load(std::memory_order_acquire);
  const std::uint64_t old_delivered = in_process ? delivered_through() : (mark ? mark->delivered_through : 0);
  rows_.emplace(db);
  RangeSet delivered;  // delivered_ changes only once this open has succeeded (it may meet damage first)
  {
    sql::Statement st(db, "SELECT first_seq, last_seq FROM delivered ORDER BY first_seq");
    while (st.step()) delivered.insert(static_cast<std::uint64_t>(st.int64(0)), static_cast<std::uint64_t>(st.int64(1)));
  }
  const auto top = static_cast<std::uint64_t>(
      db.query_int("SELECT max(coalesce((SELECT max(seq) FROM readings), 0), "
                   "coalesce((SELECT max(last_seq) FROM delivered), 0), "
                   "coalesce((SELECT max(last_seq) FROM lost), 0))"));
  const std::uint64_t floor = next_seq_.load(std::memory_order_acquire);  // 1 in a fresh process
  const std::uint64_t committed = counters_.committed_seq.load(std::memory_order_acquire);
  const std::uint64_t marked = mark ? mark->reserved_below : 1;
  struct NewGap {
    std::uint64_t first, last;
    std::string why;
  };
  std::vector<NewGap> gaps;
  std::uint64_t base = top;  // the highest seq accounted for once the gaps are written
  if (moved) {
    std::uint64_t old_top = 0;
    if (in_process) old_top = committed;
    else if (mark) old_top = marked - 1;
    else old_top = moved->salvaged_top.value_or(0);
    const std::uint64_t first = std::max(old_delivered, top) + 1;
    if (old_top >= first)
      gaps.push_back({first, old_top,
                      "database corrupt: moved aside to " + std::filesystem::path(moved->path).filename().string() +
                          " (seqs uploaded before are at the broker)"});
    base = std::max(base, old_top);
    const std::string msg = fmt::format(
        "{} was corrupt ({}): moved aside to {} (with its -wal/-shm) and a new database started; seqs {}..{} "
        "recorded as lost",
        options_.path, moved->found, moved->path, first, std::max(first, old_top));
    if (log_) log_->error("{}", msg);
    note_incident(msg);
    if (!in_process && !mark && !moved->salvaged_top && log_)
      log_->error("{}: no seq mark ({}) and the corrupt file is unreadable: seqs start again at {}, and a consumer "
                  "may already hold readings with these seqs",
                  options_.path, seq_mark_path(options_.path), base + 1);
  }
  std::uint64_t next = 0;
  if (in_process && !moved && top < committed) {
    // The same file, reopened after a failure, lacks commits this process
    // made (the file system dropped them, like a power cut would).
    gaps.push_back({top + 1, committed, "committed but not in the file when it was reopened (lost by the disk)"});
    base = committed;
  }
  if (in_process) {
    next = std::max(floor, base + 1);
    reserved_below_ = std::max(reserved_below_, marked);
  } else {
    next = std::max(base + 1, marked);
    if (next > base + 1) gaps.push_back({base + 1, next - 1, kUnusedWhy});
    reserved_below_ = marked;
  }
  if (!gaps.empty()) {
    write(
        [&] {
          for (const auto& g : gaps) rows_->add_lost(g.first, g.last, g.why);
        },
        "record gaps");
    if (log_)
      for (const auto& g : gaps)
        if (g.why == kUnusedWhy)
          log_->warn("{}: seqs {}..{} were reserved but are not in the database (an unclean stop or a power cut "
                     "lost the last commits); recorded as a gap, never reused",
                     options_.path, g.first, g.last);
  }
  std::uint64_t accounted = top;
  for (const auto& g : gaps) accounted = std::max(accounted, g.last);
  db.busy_timeout(0);
  if (accounted > committed) publish_committed(accounted);
  raise_to(next_seq_, next);
  counters_.db_size_bytes.store(measure(db).file_bytes(), std::memory_order_relaxed);
  next_housekeeping_ = steady_clock::now() + options_.housekeeping_period;
  delivered_ = std::move(delivered);
  opened_.store(true, std::memory_order_release);
  ever_opened_.store(true, std::memory_order_release);
  if (log_) log_->info("{}: open (schema {}, WAL, synchronous {}), next seq {}", options_.path, kSchemaVersion,
                       to_string(options_.synchronous), next_seq_.load());
}

void Writer::commit(Batch& batch) {
  const SteadyTime started = steady_clock::now();
  const std::uint64_t batch_top = batch.top();
  fit_rows_ = batch.readings.size();  // what a full file system must make room for (free_disk)
  struct ForgetFit {
    std::size_t& rows;
    ~ForgetFit() { rows = 0; }
  } forget_fit{fit_rows_};
  const bool ok = write(
      [&] {
        reserve_through(batch_top);  // durable before any of these seqs can be committed (and sent)
        for (const auto& c : batch.clock_events) rows_->insert_clock_event(c.boot, c.mono_ns, c.offset_ns);
        for (const auto& p : batch.puts) rows_->insert_put(p);
        if (!batch.puts.empty()) rows_->trim_puts(Store::kPutLogRows);
        for (const auto& [first, last] : batch.dropped) rows_->add_lost(first, last, "dropped (queue full)");
        for (const auto& l : batch.lost_runs) rows_->add_lost(l.first, l.last, l.why);
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
  for (const auto& l : batch.lost_runs) top = std::max(top, l.last);
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
  // Committed: nothing of it may go back to the queue when what follows
  // (the size cap here, housekeeping in run()) gives up on the file.
  // Requeued, its rows were inserted again at the reopen and failed on
  // their seqs (UNIQUE constraint), at every reopen.
  batch.readings.clear();
  batch.dropped.clear();
  batch.lost_runs.clear();
  batch.clock_events.clear();
  batch.puts.clear();
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
  restore_ballast();
  if (options_.retention > Duration::zero()) {
    const std::int64_t now_wall =
        std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch()).count();
    PruneCount total;
    for (;;) {
      PruneCount c;
      if (!write([&] { c = prune_expired(*db_, *rows_, delivered_, now_wall, options_.retention.count(), kRetentionChunk); },
                 "retention"))
        return;
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
          c = {};
          // Measured again inside the transaction: write() retries this
          // after a full disk's make_room(), which may have deleted more
          // than the cap needs; the chunk from before would then prune
          // undelivered readings (recorded lost) with the cap already met.
          const DbSize now = measure(*db_);
          if (now.used_bytes() <= target) return;
          const std::uint64_t over = now.used_bytes() - target;
          const auto rows = static_cast<std::size_t>(
              std::min<std::uint64_t>(chunk, std::max<std::uint64_t>(64, span * over / now.used_bytes())));
          c = prune_oldest_delivered(*db_, delivered_, rows);
          if (c.total() == 0) c = prune_oldest(*db_, *rows_, delivered_, rows, "pruned (size cap)");
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
  // A really full file system (less free than the ballast would give), not
  // the store's own max_page_count: see free_disk(). A file at its cap is
  // pruned here, a chunk at a time, whatever room the file system has left
  // (seen before: all 4,000 readings of a 1 MiB capped store deleted at its
  // first SQLITE_FULL, with 5 MiB free, by a prune aiming at the ballast).
  const auto free = ballast_.free_bytes();
  if (free && *free < std::max<std::uint64_t>(ballast_.bytes(), 1u << 20) && !at_page_cap()) return free_disk();
  // Room on the file system and no size cap of the store's own: this FULL
  // was not about the file's size (a card full for a moment, room freed
  // since), and deleting readings makes no room it lacks. It is retried
  // after a pause like an I/O error (past error_deadline the store gives
  // up); pruning here deleted up to 256 undelivered readings, recorded
  // lost, for one transient SQLITE_FULL (seen in a vacuum, the very write
  // that gives room back).
  if (free && options_.max_db_size == 0 && options_.hard_max_db_size == 0) {
    if (log_ && note_due(last_room_note_))
      log_->warn("{}: SQLITE_FULL with {} MiB free on its file system and no size cap: nothing deleted, "
                 "retrying every {:.0f} s (past error_deadline the store gives up on the file)",
                 options_.path, *free >> 20, seconds(kErrorPause));
    pause(kErrorPause);
    return;
  }
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

// Whether the file is at (or within an eighth of) its max_page_count, so
// that a SQLITE_FULL is the store's own hard cap: SQLite reports both
// causes with the same code, and the cap's FULL comes before the file
// reaches the cap by about the failed transaction's growth.
bool Writer::at_page_cap() {
  try {
    const auto max = static_cast<std::uint64_t>(db_->query_int("PRAGMA max_page_count"));
    const auto count = static_cast<std::uint64_t>(db_->query_int("PRAGMA page_count"));
    return count + std::max<std::uint64_t>(64, max / 8) >= max;
  } catch (const sql::SqliteError&) {
    return false;  // cannot tell: treat it as the file system's
  }
}

// The file system itself is full. The DELETE of a prune and the checkpoint
// that folds the WAL need free blocks too; without any, nothing commits
// again (seen: a 16 MiB tmpfs stopped at 58,700 rows, nothing pruned).
// Room is made for the write that failed, and no more (write() retries it
// after each call, and calls again while it still does not fit):
//  1. the ballast is bigger than its reserve (a quarter of it, at least
//     256 KiB): cut it down to the reserve, nothing pruned; the retry goes
//     into the room that leaves (on a card other files fill, that room is
//     all the store will get);
//  2. otherwise release the reserve (room for the prune, the checkpoint and
//     the vacuum), prune the oldest readings, delivered first (the rest
//     recorded as lost, "pruned (disk full)"), about as many as the failed
//     write holds (fit_rows_, at least kFullPruneMin), fold the WAL and give
//     the freed pages back, then take the reserve back from the room that
//     made (the next prune needs it: without it the checkpoint and the
//     prune met ENOSPC until error_deadline). Another such round only if
//     the reserve does not fit yet (at most kMaxFreeRounds).
// The whole ballast comes back only from space that frees up
// (restore_ballast(), at housekeeping and open), never by pruning for it:
// pruning until it fitted deleted a small store's whole content,
// undelivered readings included, on a card filled by other files.
void Writer::free_disk() {
  // The background check's read snapshot would pin the WAL (no checkpoint
  // can reset it): on a full file system that room matters more.
  stop_check();
  // Keep the WAL small from now on (this connection): it is reused, not
  // shrunk, after a checkpoint, so its high-water mark is room taken for good.
  try {
    if (wal_pages_ > 100) db_->exec("PRAGMA wal_autocheckpoint = 100");
    wal_pages_ = std::min<std::uint64_t>(wal_pages_, 100);
  } catch (const sql::SqliteError&) {
  }
  const std::uint64_t reserve =
      std::min(ballast_.bytes(), std::max<std::uint64_t>(ballast_.bytes() / 4, 256 * 1024));
  const auto fold = [this] { db_->exec("PRAGMA wal_checkpoint(TRUNCATE)"); };
  if (ballast_.size() > reserve) {
    // Its room goes first to folding the WAL (the checkpoint may grow the
    // database file by what the WAL holds, up to wal_autocheckpoint pages,
    // and the truncated WAL then gives its own blocks back), then the
    // reserve is taken back and the failed write gets the rest.
    ballast_.release();
    try {
      fold();
    } catch (const sql::SqliteError& e) {
      if (log_) log_->debug("{}: folding the WAL on a full file system failed: {}", options_.path, e.what());
    }
    const bool kept = ballast_.ensure_at_least(reserve);
    if (log_ && note_due(last_ballast_note_))
      log_->warn("{}: the file system is full: released the {} KiB ballast ({}), folded the WAL and retrying{}; "
                 "the store deletes its oldest readings only when a write still does not fit, and makes the "
                 "ballast whole again once space frees up",
                 options_.path, ballast_.bytes() / 1024, ballast_.path(),
                 kept ? fmt::format(" ({} KiB kept as the room a prune needs)", reserve / 1024) : std::string());
    return;
  }
  ballast_.release();  // the reserve: room for the prune, the checkpoint and the vacuum
  PruneCount total;
  bool reserve_back = reserve == 0;
  for (int round = 0; round < kMaxFreeRounds && !past_stop_deadline(); ++round) {
    const std::size_t rows = std::max(fit_rows_, kFullPruneMin);
    PruneCount c;
    try {
      fold();
    } catch (const sql::SqliteError&) {
    }
    try {
      {
        sql::Transaction tx(*db_);
        PruneCount n = prune_oldest_delivered(*db_, delivered_, rows);
        if (n.total() < rows) {  // every delivered reading is gone: the oldest undelivered follow
          const PruneCount more = prune_oldest(*db_, *rows_, delivered_, rows - n.total(), "pruned (disk full)");
          n.delivered += more.delivered;
          n.undelivered += more.undelivered;
        }
        tx.commit();
        c = n;  // counted only once committed
      }
      rows_->committed();
      fold();  // the freed pages reach the database file's free list
      {
        sql::Transaction tx(*db_);
        shrink(*db_, 0);
        tx.commit();
      }
      fold();  // the database file shrinks here (WAL mode)
    } catch (const sql::SqliteError& e) {
      rows_->rolled_back();
      if (log_) log_->debug("{}: making room on a full file system failed: {}", options_.path, e.what());
    }
    total.delivered += c.delivered;
    total.undelivered += c.undelivered;
    if (reserve > 0) reserve_back = ballast_.ensure_at_least(reserve);
    if (reserve_back || c.total() == 0) break;
  }
  counters_.pruned_delivered.fetch_add(total.delivered, std::memory_order_relaxed);
  counters_.pruned_undelivered.fetch_add(total.undelivered, std::memory_order_relaxed);
  lost_unreported_ += total.undelivered;
  if (log_ && lost_unreported_ > 0 && note_due(last_full_lost_note_)) {
    log_->warn("{}: file system full: deleted {} never delivered readings (recorded as lost) to make room",
               options_.path, lost_unreported_);
    lost_unreported_ = 0;
  }
  if (total.total() == 0) {
    if (log_ && note_due(last_full_note_))
      log_->error("{}: the file system is full and the store could not free room (nothing left to delete, or "
                  "no room even to delete); readings queue in memory, and past error_deadline the store gives up "
                  "on the file: free space on {}",
                  options_.path, ballast_.path().substr(0, ballast_.path().rfind('/') + 1));
    pause(kErrorPause);
  }
}

void Writer::restore_ballast() {
  if (ballast_.configured_bytes() == 0) return;
  // A quarter of the file system at most: on a card smaller than the
  // configured size and half again, none could ever be made (a 4 MiB card
  // and the 4 MiB default), and a full card then left no room to prune.
  if (ballast_.fit_to_file_system() && !ballast_fit_note_ && log_) {
    log_->info("{}: the ballast is {} KiB, a quarter of its {} KiB file system ([store] ballast_bytes is {} KiB)",
               options_.path, ballast_.bytes() / 1024, ballast_.file_system_bytes().value_or(0) / 1024,
               ballast_.configured_bytes() / 1024);
    ballast_fit_note_ = true;
  }
  if (ballast_.bytes() == 0) return;
  if (ballast_.ensure(ballast_.bytes() / 2)) {
    ballast_note_ = false;
    return;
  }
  if (!ballast_note_ && log_)
    log_->warn("{}: no {} KiB ballast ({}: {}): on a full file system the store may not be able to prune; "
               "retried at each housekeeping",
               options_.path, ballast_.bytes() / 1024, ballast_.path(), ballast_.why_not());
  ballast_note_ = true;
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
      error_since_.reset();
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
          log_->warn("{}: disk full during {} ({}): making room (a full file system or the size cap: the oldest "
                     "readings are deleted, delivered ones first; logged at most once a minute, counters show the rest)",
                     options_.path, what, detail(e, options_.path));
        full_episode_ = true;
        const SteadyTime began = steady_clock::now();
        if (!error_since_) error_since_ = began;
        if (began - *error_since_ >= options_.error_deadline) {
          // Nothing could be committed for error_deadline although room was
          // made where possible: give up like any other write error, so
          // flushes and mark_delivered fail instead of waiting for ever.
          giving_up_ = options_.path + ": " + what + " failed: " + detail(e, options_.path) + " for " +
                       fmt::format("{:.0f}", seconds(began - *error_since_)) +
                       " s (error_deadline) although the store pruned what it could; giving up on the file: "
                       "free space on its file system";
          opened_.store(false, std::memory_order_release);
          {
            std::lock_guard lock(mutex_);
            failed_why_ = *giving_up_;
          }
          throw GiveUp(*giving_up_);
        }
        make_room();
        continue;
      }
      // Not busy, not full: the file is corrupt (give up now), or it cannot be
      // written (read-only file system, I/O error): retry until error_deadline.
      const SteadyTime now = steady_clock::now();
      if (!error_since_) error_since_ = now;
      if (e.is_corrupt() || now - *error_since_ >= options_.error_deadline) {
        if (e.is_corrupt()) corrupt_seen_ = std::string(what) + ": " + detail(e, options_.path);
        giving_up_ = options_.path + ": " + what + " failed: " + detail(e, options_.path) +
                     (e.sys_errno() != 0 ? std::string(" [") + std::strerror(e.sys_errno()) + "]" : std::string()) +
                     (e.is_corrupt() ? " (the file is corrupt; it is moved aside when the store opens again)"
                                     : fmt::format(" for {:.0f} s (error_deadline); giving up on the file",
                                                   seconds(now - *error_since_)));
        // Failed from now on, before any caller hears of this error: a
        // caller whose job failed here sees the store failed, not open.
        opened_.store(false, std::memory_order_release);
        {
          std::lock_guard lock(mutex_);
          failed_why_ = *giving_up_;
        }
        throw GiveUp(*giving_up_);
      }
      if (!error_episode_ && log_)
        log_->error("{}: {} failed: {}; retrying every {:.0f} s for up to {:.0f} s", options_.path, what,
                    detail(e, options_.path), seconds(kErrorPause), seconds(options_.error_deadline));
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
  std::vector<std::shared_ptr<Completion<std::string>>> watchers;
  {
    std::lock_guard lock(mutex_);
    for (auto& w : flush_waiters_) waiters.push_back(std::move(w.second));
    flush_waiters_.clear();
    jobs.swap(jobs_);
    watchers.swap(failure_waiters_);
  }
  for (auto& w : watchers) w->complete_value(options_.path + ": " + why);
  const auto error = std::make_exception_ptr(StoreError(options_.path + ": " + why));
  for (auto& w : waiters) w->fail(error);
  for (auto& job : jobs) job(false);
}

}  // namespace weft::store
