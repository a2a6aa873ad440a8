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
// seq at or below it is a committed row or a committed gap.
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

#include "busy_retry.hpp"
#include "prune.hpp"
#include "completion.hpp"
#include "counters.hpp"
#include "range_set.hpp"
#include "rows.hpp"
#include "sqlite_db.hpp"
#include "weft/drivers/store/store.hpp"

namespace spdlog {
class logger;
}

namespace weft::store {

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

  // Loop thread, never blocks for long (a mutex the writer holds only to
  // move items). Requires is_open().
  std::uint64_t append(const Reading& reading);
  void clock_event(const BootId& boot, std::int64_t mono_ns, std::int64_t offset_ns);
  // Completes with committed_seq once it reaches the last seq appended so far.
  void when_flushed(std::shared_ptr<Completion<std::uint64_t>> done);
  void mark_delivered(std::uint64_t first, std::uint64_t last, std::shared_ptr<Completion<bool>> done);
  std::uint64_t last_assigned() const noexcept { return next_seq_ - 1; }
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
  struct Batch {
    std::vector<Queued> readings;
    std::vector<ClockRow> clock_events;
    std::vector<RangeSet::Range> dropped;
    std::deque<std::function<void(bool)>> jobs;
    bool empty() const noexcept { return readings.empty() && clock_events.empty() && dropped.empty(); }
  };

  // ---- writer thread ----
  void run();
  void wait_for_work(std::unique_lock<std::mutex>& lock);
  Batch take();  // under mutex_
  void do_open(const OpenDone& done);
  void commit(Batch& batch);
  void do_mark_delivered(std::uint64_t first, std::uint64_t last);
  void housekeeping();
  void enforce_size_cap();
  void make_room();
  // Runs `body` in a write transaction until it commits: BUSY is retried
  // with backoff, FULL prunes and retries, other errors back off. Returns
  // false only when stopping and the stop deadline has passed.
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
  std::vector<RangeSet::Range> dropped_;     // dropped, not yet recorded; merged
  // open, mark_delivered: one per awaiting caller. job(true) runs it;
  // job(false) fails its caller (the writer is closing).
  std::deque<std::function<void(bool)>> jobs_;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<Completion<std::uint64_t>>>> flush_waiters_;
  std::optional<SteadyTime> pending_since_;  // oldest uncommitted clock event or drop
  bool stopping_ = false;
  std::optional<SteadyTime> stop_deadline_;

  // ---- loop thread (set by the writer before open completes) ----
  std::atomic<std::uint64_t> next_seq_{1};
  std::atomic<bool> opened_{false};

  // ---- writer thread only ----
  std::optional<sql::Db> db_;
  std::optional<RowWriter> rows_;
  RangeSet delivered_;
  BusyRetry busy_;
  SteadyTime next_housekeeping_{};
  bool full_episode_ = false;
  bool error_episode_ = false;
  // Notes about repeated conditions, at most one a minute (kNotePeriod).
  bool note_due(SteadyTime& last);
  SteadyTime last_full_note_{}, last_full_lost_note_{}, last_cap_note_{};
  std::uint64_t lost_unreported_ = 0;  // disk-full deletions not logged yet
  PruneCount cap_pruned_;              // size-cap deletions not logged yet
  std::thread thread_;  // last: started after everything above exists
};

}  // namespace weft::store
