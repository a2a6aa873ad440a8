// The store: every reading recorded in SQLite (WAL), with a per-box
// sequence number (the delivery ledger), the wall-clock offset history, the
// delivered ranges and the lost ranges (gaps). Promise: a reading whose seq
// is <= committed_seq() (what flushed() returned) is on disk and survives a
// kill -9; a reading that is lost (dropped from the bounded queue, pruned
// before delivery) is recorded as a gap with why, never silently.
//
// Threads: the loop thread calls append()/record_clock_event() (never block,
// never touch SQLite) and co_awaits the rest; one writer thread owns the
// read-write connection (batches, busy retry, prune); one reader thread owns
// a read-only connection (upload queries, gaps). Every awaitable resumes on
// the caller's executor; none blocks the loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/core/clock.hpp"
#include "weft/core/reading.hpp"

namespace weft::store {

// The schema version this weftd reads and writes (drivers/src/store/
// migrations.hpp: only a change older code cannot read raises it; new
// tables are additive and leave it). A database with a higher version is
// refused. `weftd --build-info` reports it, so `weftctl update` can refuse
// a package whose weftd would raise it: the rollback could not open the file.
inline constexpr int kSchemaVersion = 1;

// open() failed, or the store cannot go on: the message names the path, what
// was wrong and what to do.
class StoreError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// open() failed because the file system holding the database is full
// (SQLITE_FULL: not even the -shm/-wal files or the open's first write
// fit). Nothing is wrong with the file: open again once space is freed.
class StoreFullError : public StoreError {
public:
  using StoreError::StoreError;
};

struct StoreOptions {
  enum class Synchronous { normal, full };

  std::string path;                                   // the database file (created with its directory's permissions)
  std::size_t batch_rows = 500;                       // commit when this many readings are queued...
  Duration batch_age = std::chrono::milliseconds(200);  // ...or when the oldest has waited this long
  Synchronous synchronous = Synchronous::normal;      // NORMAL: a power cut may lose the last commits, never corrupt; FULL: fsync each commit
  Duration busy_deadline = std::chrono::seconds(10);  // another process holding the lock: retry this long, then log an error and keep retrying
  std::size_t queue_capacity = 100'000;               // readings waiting for the writer; past it the OLDEST is dropped (counted, a gap)
  Duration retention = Duration::zero();              // delete readings older than this (zero: keep)
  std::uint64_t max_db_size = 0;                      // bytes; past it prune delivered rows first, then undelivered (0: no cap)
  // Hard ceiling for the database file (PRAGMA max_page_count): a write past
  // it fails like a full disk (SQLITE_FULL) and is handled by pruning.
  // 0: max_db_size + 25 % when max_db_size is set, else none.
  std::uint64_t hard_max_db_size = 0;
  Duration housekeeping_period = std::chrono::seconds(10);  // how often retention and the size cap are checked
  // A write failing with anything but BUSY or FULL (READONLY, IOERR, ...) is
  // retried this long, then the writer gives up on the file (Store::failure()).
  // A corrupt file (SQLITE_CORRUPT, SQLITE_NOTADB) is given up on at once.
  Duration error_deadline = std::chrono::seconds(10);
  // A file of this many bytes beside the database (<path>.ballast), made at
  // open and housekeeping when there is room for it and half as much again:
  // on a really full file system it is deleted and the failed write retried
  // in its room (later ones prune the oldest readings, as many as they
  // need: a DELETE and a checkpoint need free blocks too). Made again only
  // from space that frees up, never by pruning for it. [store] ballast_bytes.
  // 0: none (a full file system then stops commits until space is freed).
  std::uint64_t ballast_bytes = 4u << 20;
  // PRAGMA quick_check after each open, in the background (never in the
  // open's way: it reads the whole file). Damage it finds fails the store,
  // and the next open moves the file aside. Off: damage is still acted on
  // when a read or write meets it (tests turn it off to reach that path).
  // [store] background_check.
  bool background_check = true;
  std::string vfs;  // a registered SQLite VFS by name for both connections (tests); empty: the default
  // Called on the writer thread after each committed batch (rows, BEGIN..COMMIT
  // latency): for benchmarks. Must be cheap and must not call the Store.
  std::function<void(std::size_t rows, Duration latency)> commit_observer;
};

// A reading as stored, with its sequence number in the delivery ledger.
struct StoredReading {
  std::uint64_t seq = 0;
  Reading reading;
  // reading.mono_ns + the latest wall-clock offset recorded for its boot
  // (clock events); reading.wall_ns when none is recorded for that boot.
  std::int64_t corrected_wall_ns = 0;
};

// One attempt to set a point from outside the box (a Channel Access put),
// allowed or refused: a row of the put log (table put_log).
struct PutRecord {
  std::int64_t wall_ns = 0;
  std::string who;        // "user@host" as the client claims it (CA carries no authentication)
  std::string peer;       // the client's address:port
  std::string pv;         // the name written to
  std::string old_value;  // as text; "?" when unknown
  std::string new_value;  // as text; "?" when the write was refused before it was decoded
  std::string result;     // "ok", "refused (...)" or "failed: ..." with why
};

// A range of sequence numbers that was recorded (assigned) but is lost.
struct Gap {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string why;  // "dropped (queue full)", "pruned (size cap)", "pruned (retention)", "pruned (disk full)"
};

struct StoreCounters {
  std::uint64_t rows_written = 0;        // readings committed (this process)
  std::uint64_t batches = 0;             // transactions committed
  std::uint64_t busy_retries = 0;        // SQLITE_BUSY/LOCKED retries
  std::uint64_t busy_episodes = 0;       // distinct periods of lock contention
  std::uint64_t pruned_delivered = 0;    // delivered rows deleted (retention, size cap, disk full)
  std::uint64_t pruned_undelivered = 0;  // undelivered rows deleted: lost, recorded as gaps
  std::uint64_t dropped = 0;             // readings dropped from the full queue: lost, recorded as gaps
  std::uint64_t disk_full = 0;           // SQLITE_FULL met (each handled by pruning)
  std::uint64_t db_size_bytes = 0;       // page_count * page_size after the last commit
  Duration last_commit_latency{};        // BEGIN .. COMMIT of the last batch, busy waits included
  std::size_t queue_depth = 0;           // readings queued, not yet taken by the writer
  std::uint64_t committed_seq = 0;       // highest seq committed (everything <= it is durable or a gap)
};

// What the store has been through, for the console and the status line.
struct StoreHealth {
  enum class State { closed, open, failed };
  State state = State::closed;
  std::string error;                   // why it failed (state failed)
  std::vector<std::string> incidents;  // this process: corrupt files moved aside, unwritable spells; newest last
};
const char* to_string(StoreHealth::State s) noexcept;

// The console's `sql SELECT ...`: limits of one ad-hoc read-only query.
struct QueryLimits {
  std::size_t max_rows = 1000;                    // more rows: the result is cut here (truncated = true)
  Duration timeout = std::chrono::seconds(2);     // running longer: interrupted, QueryError
  std::size_t max_cell_bytes = 4096;              // longer text/blob cells are cut (cell_cut = true)
};

// A BLOB cell: its first bytes (at most max_cell_bytes) and its full size.
struct QueryBlob {
  std::string bytes;
  std::size_t size = 0;
  bool operator==(const QueryBlob&) const = default;
};
using QueryValue = std::variant<std::monostate, std::int64_t, double, std::string, QueryBlob>;  // monostate: NULL

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<QueryValue>> rows;
  bool truncated = false;  // more rows than max_rows: only the first max_rows are here
  bool cell_cut = false;   // some text cell was longer than max_cell_bytes and was cut
  Duration elapsed{};      // prepare .. last step, on the reader thread
};

// A refused or failed query: the message says why, quoting SQLite's error
// and the statement (escaped, shortened), e.g.
// "sql: no such table: readingz (in \"SELECT * FROM readingz\")".
class QueryError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class Store {
public:
  // No I/O: open() does it.
  explicit Store(StoreOptions options);
  // Stops and joins the threads (bounded: what is queued is committed if the
  // DB lets it, within about 3 s). A clean close gives the unused rest of the
  // seq reservation back, so the next open (a new Store on this file, e.g.
  // record restarting after a [store] change) goes on without a gap;
  // readings it could not commit become a gap there. Blocks: never on the loop.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const StoreOptions& options() const noexcept;

  // Opens or creates the database, sets WAL, migrates; starts the writer
  // and reader threads. Throws StoreError (names the path and what to do),
  // e.g. for a database written by a newer weftd. Idempotent once open.
  // Not cancel-safe (completes when the open has finished).
  boost::asio::awaitable<void> open();
  // The same, blocking the calling thread: for the blocking pool, e.g.
  //   co_await ctx.blocking([&] { store.open_blocking(); });
  // which also holds the virtual clock while the database opens. Never on the loop.
  // On a file found corrupt (SQLITE_CORRUPT or SQLITE_NOTADB met by this
  // open, or met while the file was last open: by a write, a read or the
  // background quick_check), the file and its -wal/-shm are renamed to
  // <path>.corrupt-<UTC time>, a new database is started, and the seqs the
  // old one held are recorded as a gap; the incident is in health(). The
  // open never reads the whole file (quick_check runs after it).
  // One Store per file in a process: while another Store has this path
  // open, the open waits for that one's close (busy_deadline + 3 s at
  // most, then StoreError), before it reads the seq mark.
  void open_blocking();
  bool is_open() const noexcept;
  // Opened at least once in this process: append() is accepted (also while failed).
  bool accepting() const noexcept;

  // Resumes with the error once the writer has given up on the database
  // (corrupt, or an error past error_deadline); at once if it already has.
  // From then until open() succeeds again, append() still queues (the
  // oldest dropped past queue_capacity, recorded as lost at the next open),
  // flushed() and mark_delivered() throw StoreError. Cancel-safe.
  boost::asio::awaitable<std::string> failure();
  StoreHealth health() const;  // any thread

  // Loop thread, never blocks. Assigns the next seq, queues the reading and
  // returns the seq. A full queue drops its OLDEST reading (counted, recorded
  // as a gap "dropped (queue full)"). Throws std::logic_error before the
  // first open(); accepted afterwards, also while the store has failed.
  std::uint64_t append(const Reading& reading);
  // Loop thread, never blocks. `count` readings that were lost before they
  // reached the store (the record service's bus queue dropped them): gives
  // them the next `count` seqs and records those as the gap `why`, in seq
  // order with the readings around them. Returns the first seq (0 if count
  // is 0). Same preconditions as append().
  std::uint64_t append_lost(std::uint64_t count, std::string why);

  // Loop thread, never blocks: a put-log row, committed with the next batch
  // (within batch_age). At most kMaxQueuedPuts wait for the writer; past
  // that the oldest is dropped and logged. The table keeps the newest
  // kPutLogRows rows. Same preconditions as append().
  static constexpr std::size_t kMaxQueuedPuts = 4096;
  static constexpr std::int64_t kPutLogRows = 100'000;
  void append_put(PutRecord record);

  // Loop thread, never blocks: a wall-clock offset (wall - mono) in effect for
  // `boot` from `mono_ns` on, committed with the next batch.
  void record_clock_event(const BootId& boot, std::int64_t mono_ns, std::int64_t offset_ns);

  // Resumes once every reading appended before the call is committed (or is a
  // gap); returns committed_seq(). Cancel-safe (a cancelled wait commits
  // nothing less). Throws StoreError if the store was closed.
  boost::asio::awaitable<std::uint64_t> flushed();
  std::uint64_t committed_seq() const noexcept;  // any thread

  // ---- upload side: read on the read-only connection -------------------
  // Undelivered readings with seq > after_seq, ascending, at most `limit`.
  // Cancel-safe (the result is discarded).
  boost::asio::awaitable<std::vector<StoredReading>> undelivered(std::uint64_t after_seq, std::size_t limit);
  // The newest `limit` undelivered readings, returned ascending ("live first").
  boost::asio::awaitable<std::vector<StoredReading>> newest_undelivered(std::size_t limit);
  // Records [first_seq, last_seq] as delivered (merged with adjacent ranges);
  // committed by the writer before it resumes. Cancel-safe in the sense that
  // a cancelled call may or may not have been committed; marking is idempotent.
  boost::asio::awaitable<void> mark_delivered(std::uint64_t first_seq, std::uint64_t last_seq);
  // The latest wall-clock offset (wall - mono) recorded for `boot`, if any:
  // corrected wall = mono_ns + offset. Cancel-safe.
  boost::asio::awaitable<std::optional<std::int64_t>> wall_offset(BootId boot);
  // Recorded but lost ranges, ascending. Cancel-safe.
  boost::asio::awaitable<std::vector<Gap>> gaps();
  // Delivered ranges, ascending (the upload watermark, for the console).
  boost::asio::awaitable<std::vector<std::pair<std::uint64_t, std::uint64_t>>> delivered_ranges();

  // One ad-hoc statement for the console (`sql SELECT ...`), run on the
  // reader thread's read-only connection (SQLITE_OPEN_READONLY). Refused
  // with QueryError unless it is exactly one statement that
  // sqlite3_stmt_readonly() calls read-only and that leaves the shared
  // connection as it found it (no ATTACH/DETACH, BEGIN/COMMIT/SAVEPOINT,
  // nor a PRAGMA that sets something). Interrupted past limits.timeout
  // (QueryError "sql: stopped after 2 s; narrow the query"); rows past
  // limits.max_rows are not read (truncated). Upload queries queue behind
  // it for at most the timeout. Cancel-safe (the result is discarded).
  boost::asio::awaitable<QueryResult> query(std::string sql, QueryLimits limits = {});

  // Loop thread (any thread): a snapshot.
  StoreCounters counters() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

const char* to_string(StoreOptions::Synchronous s) noexcept;

}  // namespace weft::store
