// The store's writer: one thread that owns the read-write connection. The
// loop thread hands it readings through a bounded intake (never waiting:
// when full, the oldest reading is dropped, counted and recorded as a gap);
// the writer commits them in batches (batch_rows or batch_age, whichever
// comes first), retries a locked database with backoff, prunes on a full
// disk, and applies retention and the size cap between batches.
//
// Intake states, per reading:  queued --take--> in batch --COMMIT--> committed
//                                 \--queue full: oldest dropped --> gap ("dropped (queue full)")
// committed_seq only moves forward, and only after COMMIT returned: every
// seq at or below it is a committed row or a committed gap. Before a seq at
// or above the seq mark's reserved_below is committed, the mark is raised
// durably (seq_mark.hpp), so no seq is ever given to two readings.
//
// The database, per file:
//   closed --open--> open --non-transient error past error_deadline, or corrupt--> failed
//     ^                                                                          |
//     +-----------------------open() again (record restarts)--------------------+
// open holds the file's PathClaim (path_claim.hpp: one writer per file in
// this process), taken before the seq mark is read, released by the clean
// close (after the mark is lowered) or on entering failed.
// failed: the connection is closed, waiters and jobs fail with the error,
// failure waiters (Store::failure()) are told; readings keep queueing (the
// batch in hand goes back to the front of the queue), and past the capacity
// the oldest are dropped, counted and recorded as lost by the next commit.
// open() on a corrupt file moves it aside (<db>.corrupt-<UTC time>, with its
// -wal and -shm) and starts a new one, recording what it held as a gap:
// corrupt = SQLITE_CORRUPT/NOTADB met by that open, or met while the file
// was open before (corrupt_seen_: a write, the background quick_check of
// file_check.hpp, or a read on the reader's connection: report_corrupt();
// each fails the store). On a really full file system the
// ballast (ballast.hpp) is released for the failed write, and only if that
// is not enough are as many of the oldest readings pruned as it needs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "ballast.hpp"
#include "path_claim.hpp"
#include "busy_retry.hpp"
#include "file_check.hpp"
#include "file_id.hpp"
#include "prune.hpp"
#include "completion.hpp"
#include "counters.hpp"
#include "range_set.hpp"
#include "seq_mark.hpp"
#include "rows.hpp"
#include "sqlite_db.hpp"
#include "weft/drivers/store/store.hpp"

namespace spdlog {
class logger;
}

namespace weft::store {

// write() gave up on the database file (its message says why).
class GiveUp : public StoreError {
public:
  using StoreError::StoreError;
};

class Writer {
public:
  using SteadyTime = MonoTime;  // the writer's own timing is always real steady_clock time

  Writer(const StoreOptions& options, AtomicCounters& counters, std::shared_ptr<spdlog::logger> log);
  ~Writer();  // commits what it can within a bounded time, fails waiters, joins
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Opens the database on the writer thread (starting it); `done` is
  // called on the writer thread with null or the StoreError.
  using OpenDone = std::function<void(std::exception_ptr)>;
  void open(OpenDone done);
  bool is_open() const noexcept { return opened_.load(std::memory_order_acquire); }
  // Opened at least once: append() is accepted from then on (also while failed).
  bool accepting() const noexcept { return ever_opened_.load(std::memory_order_acquire); }
  // Completes with the error once the writer gives up on the file (at once
  // if it already has).
  void when_failed(std::shared_ptr<Completion<std::string>> done);
  StoreHealth health() const;

  // Loop thread, never blocks for long (a mutex the writer holds only to
  // move items). Requires is_open().
  std::uint64_t append(const Reading& reading);
  void clock_event(const BootId& boot, std::int64_t mono_ns, std::int64_t offset_ns);
  void put(PutRecord record);  // a put-log row (Store::append_put)
  // Assigns `count` seqs to readings lost before they reached the store
  // (the bus dropped them) and queues them as the gap `why`; returns the first.
  std::uint64_t append_lost(std::uint64_t count, std::string why);
  // Completes with committed_seq once it reaches the last seq appended so far.
  void when_flushed(std::shared_ptr<Completion<std::uint64_t>> done);
  void mark_delivered(std::uint64_t first, std::uint64_t last, std::shared_ptr<Completion<bool>> done);
  std::uint64_t last_assigned() const noexcept { return next_seq_ - 1; }
  // Any thread: a read on another connection (the reader's: upload, the
  // console's `sql` and `store`) met SQLITE_CORRUPT/NOTADB in `file`. If
  // that is still the file at the store's path, the writer acts on it as on
  // the background check's verdict: the store fails, and the next open
  // moves the file aside (a report about a file already moved aside is
  // dropped).
  void report_corrupt(std::string found, std::optional<FileId> file);
  std::size_t queue_depth() const;

private:
  struct Queued {
    std::uint64_t seq;
    Reading reading;
    SteadyTime at;
  };
  struct ClockRow {
    BootId boot;
    std::int64_t mono_ns;
    std::int64_t offset_ns;
  };
  struct LostRun {  // seqs given to readings lost before the store (append_lost)
    std::uint64_t first, last;
    std::string why;
  };
  struct Batch {
    std::vector<Queued> readings;
    std::vector<LostRun> lost_runs;
    std::vector<ClockRow> clock_events;
    std::vector<PutRecord> puts;
    std::vector<RangeSet::Range> dropped;
    std::uint64_t top() const noexcept;  // the highest seq it commits (0: none)
    std::deque<std::function<void(bool)>> jobs;
    bool empty() const noexcept {
      return readings.empty() && clock_events.empty() && dropped.empty() && lost_runs.empty() && puts.empty();
    }
  };

  // ---- writer thread ----
  void run();
  void wait_for_work(std::unique_lock<std::mutex>& lock);
  Batch take();  // under mutex_
  void do_open(const OpenDone& done);
  void open_file();                        // connection, pragmas, migrations (throws)
  void start_check();                      // the background quick_check of the file just opened
  void stop_check();                       // before the connection closes or the file moves
  struct MovedAside {
    std::string path;   // where the corrupt file went
    std::string found;  // what SQLite said about it
    std::optional<std::uint64_t> salvaged_top;  // its highest seq, if still readable
  };
  MovedAside move_aside(const std::string& found);
  void finish_open(const std::optional<SeqMark>& mark, const std::optional<MovedAside>& moved);
  void reserve_through(std::uint64_t top);  // raises the seq mark past `top` if needed (durable; throws SqliteError)
  std::uint64_t delivered_through() const;
  void close_cleanly();                    // at the end of run(): checkpoint, close, lower the mark, release the claim
  void claim_file();                       // claim_ (waits, bounded, for another Store's close; throws StoreError)
  void requeue(Batch& batch);              // a batch not committed goes back to the front of the queue
  void enter_failed();
  void note_incident(std::string what);
  void commit(Batch& batch);
  void do_mark_delivered(std::uint64_t first, std::uint64_t last);
  void housekeeping();
  void enforce_size_cap();
  void make_room();
  bool at_page_cap();        // the file is at its max_page_count: a FULL is the store's own cap
  void free_disk();          // make_room on a really full file system: the ballast, else a prune the size of the write
  void restore_ballast();    // makes the ballast if there is room again (logged once per change)
  // Runs `body` in a write transaction until it commits: BUSY is retried
  // with backoff, FULL prunes and retries, other errors back off. Returns
  // false only when stopping and the stop deadline has passed. Throws
  // GiveUp (and sets giving_up_) for a corrupt file at once, and for any
  // other error that persists past options_.error_deadline.
  bool write(const std::function<void()>& body, const char* what);
  void publish_committed(std::uint64_t seq);
  void pause(Duration d);  // sleeps, cut short by the stop deadline
  bool past_stop_deadline() const;
  bool due(SteadyTime now) const;  // under mutex_
  void fail_all_waiters(const std::string& why);

  const StoreOptions options_;
  AtomicCounters& counters_;
  std::shared_ptr<spdlog::logger> log_;

  // ---- shared with the loop thread, under mutex_ ----
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;                 // capacity options_.queue_capacity; overflow: drop oldest
  std::vector<ClockRow> clock_queue_;        // a few per clock jump; bounded by kMaxClockEvents
  std::deque<PutRecord> put_queue_;          // put-log rows; bounded by Store::kMaxQueuedPuts (oldest dropped)
  std::uint64_t puts_dropped_ = 0;           // dropped from put_queue_, not logged yet
  RangeSet dropped_;                          // dropped, not yet recorded; merged
  std::vector<LostRun> lost_runs_;            // append_lost, not yet recorded (merged when adjacent with one why)
  // open, mark_delivered: one per awaiting caller. job(true) runs it;
  // job(false) fails its caller (the writer is closing).
  std::deque<std::function<void(bool)>> jobs_;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<Completion<std::uint64_t>>>> flush_waiters_;
  std::optional<SteadyTime> pending_since_;  // oldest uncommitted clock event or drop
  bool stopping_ = false;
  std::optional<SteadyTime> stop_deadline_;
  std::vector<std::shared_ptr<Completion<std::string>>> failure_waiters_;
  std::string failed_why_;              // non-empty while failed
  std::vector<std::string> incidents_;  // corrupt files moved aside etc., newest last (at most kMaxIncidents)
  std::optional<std::string> check_found_;  // damage the background quick_check found, not yet acted on
  struct ReadFound {
    std::string found;
    FileId file;
  };
  std::optional<ReadFound> read_found_;  // damage another connection's read met (report_corrupt), not yet acted on

  // ---- loop thread (set by the writer before open completes) ----
  std::atomic<std::uint64_t> next_seq_{1};
  std::atomic<bool> opened_{false};
  std::atomic<bool> ever_opened_{false};

  // ---- writer thread only ----
  std::optional<sql::Db> db_;
  std::optional<RowWriter> rows_;
  RangeSet delivered_;
  BusyRetry busy_;
  SteadyTime next_housekeeping_{};
  bool full_episode_ = false;
  bool error_episode_ = false;
  std::optional<SteadyTime> error_since_;  // first failure of the current error episode
  std::optional<std::string> giving_up_;   // set by write() when it gives up on the file
  // The open file met SQLITE_CORRUPT/NOTADB (a write, a read, the check):
  // the next open moves it aside without needing to meet the damage again.
  std::optional<std::string> corrupt_seen_;
  std::unique_ptr<FileCheck> check_;       // while a file is open
  // The file, claimed in this process from before the seq mark is read
  // until the clean close wrote it (or the writer gave up on the file).
  PathClaim claim_;
  Ballast ballast_;
  bool ballast_note_ = false;              // "no room for the ballast" logged, not yet cleared
  bool ballast_fit_note_ = false;          // "ballast cut to a quarter of the file system" logged
  std::uint64_t wal_pages_ = 1000;         // this connection's wal_autocheckpoint (open_file, free_disk)
  std::size_t fit_rows_ = 0;               // readings in the write in hand (commit), for free_disk()
  std::uint64_t reserved_below_ = 1;       // the seq mark on disk: seqs below it may be committed
  // Notes about repeated conditions, at most one a minute (kNotePeriod).
  bool note_due(SteadyTime& last);
  SteadyTime last_full_note_{}, last_full_lost_note_{}, last_cap_note_{}, last_ballast_note_{}, last_room_note_{};
  std::uint64_t lost_unreported_ = 0;  // disk-full deletions not logged yet
  PruneCount cap_pruned_;              // size-cap deletions not logged yet
  std::thread thread_;  // last: started after everything above exists
};

}  // namespace weft::store
