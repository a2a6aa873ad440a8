// record: every reading on the bus (or those matching `pattern`) recorded
// in the store ([store]), each with its per-box sequence number. Ready once
// the database is open and migrated. Wall-clock offsets (at start and at
// every clock jump, point weft.clock.offset_ns) are recorded as clock
// events, so uploaded timestamps can be corrected.
//
// What survives a restart of record (a reload of [service.record] or
// [store], a crash-restart by the supervisor, a console stop + start): the
// bus subscription is not this run's but the process's (RecordIntake,
// record_intake.hpp, made by weftd's main and passed in RunMode), so
// readings published while no run drains it wait there (bounded by
// `capacity`) and the next run records them first, each exactly once, in
// publish order; a new pattern or capacity takes effect at the next run
// without losing or doubling one. The Store keeps what was appended: the
// same Store goes on with its queue; a new Store on the same file waits for
// the old one's clean close, which gives back the unused seq reservation,
// so the ledger goes on at committed + 1 with no gap.
//
// Nothing is lost silently: readings the bus dropped before we took them
// (the intake full: record down for long, or the loop overloaded) get seqs
// and are recorded as the gap "dropped (bus queue full)", logged and
// counted (bus_dropped); readings the store dropped (its queue full) are
// the gap "dropped (queue full)". Only readings still waiting in the
// intake when the process ends are lost unrecorded (nothing acknowledged
// them; crash-only).
//
// What was acknowledged: every `report_period` (if it moved, else every
// minute) it logs "store: committed through seq N" at info and publishes
// <prefix>.committed_seq = N: every reading with seq <= N is committed (or
// a recorded gap): it survives a kill -9, and a power cut only under
// synchronous = full (see store.hpp; seqs are never reused either way).
//
// When the store gives up on its file (corrupt, or an error such as a
// read-only file system past error_deadline) this run fails with the error
// (supervision and health see it). The next run reopens the store: a
// corrupt file is moved aside and a new one started; a file that still
// cannot be written leaves the run degraded: ready, readings still queued
// in the store's memory (the oldest dropped past its capacity, recorded as
// lost once a file is writable), the store reopened every reopen_period,
// and the state in `store` and in the status line (STATUS=). A file system
// too full for even the first open of this process (weftd restarted on a
// full card) leaves the run ready without its store: readings wait in the
// bus queue (the oldest dropped past `capacity`, recorded as lost once the
// store opens), the open is retried every reopen_period, and the console's
// store commands appear once it has opened.
//
// [service.record]
//   pattern = "*"            # fnmatch glob over point names
//   capacity = 65536         # bus queue; past it the bus drops the oldest (counted, logged, published)
//   report_period = "5s"     # counters as points and the "committed through" line
//   prefix = "weft.store"    # point name prefix of the counters
//   reopen_period = "30s"    # degraded (the store cannot be written): retry it this often
//   needs = []
//
// Console (while it runs): `sql SELECT ...` (read-only, row and time
// limits) and `store` (counters and gaps); see store_commands.hpp.
//
// Files in apps/record/ (public header apps/include/weft/apps/record/):
//   record.cpp          this service: bus -> store, counters, "committed through"
//   record_intake.cpp   the bus subscription that outlives record's runs
//   store_commands.cpp  `sql`, `store`, `gaps` (on the store's reader thread)
// The [store] table itself is read in apps/assembly/store_config.cpp.
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/apps/record/record_intake.hpp"
#include "weft/apps/record/store_commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::apps {
namespace {

constexpr std::string_view kClockPoint = "weft.clock.offset_ns";
constexpr Duration kQuietReport = std::chrono::minutes(1);  // "committed through" repeats at least this often
constexpr std::size_t kNoteChars = 160;                       // of an error or incident in the status line
constexpr const char* kBusLostWhy = "dropped (bus queue full)";

// The store's state for STATUS= ("" when all is well).
std::string status_note(const store::Store& store) {
  const store::StoreHealth h = store.health();
  const auto cut = [](std::string s) {
    if (s.size() > kNoteChars) {
      s.resize(kNoteChars);
      s.append("...");
    }
    return s;
  };
  if (h.state == store::StoreHealth::State::failed) return "store not writable: " + cut(h.error);
  if (!h.incidents.empty()) return "store incident: " + cut(h.incidents.back()) + " (see `store`)";
  return {};
}

struct Settings {
  std::string pattern;
  std::size_t capacity;
  Duration report_period;
  std::string prefix;
  Duration reopen_period;
};

// Bus readings into the store, in publish order. append() never blocks.
// Readings the bus dropped before we took them get their seqs here, as a
// gap in their place, so the ledger says what was lost and when.
boost::asio::awaitable<void> intake(Context& ctx, store::Store& store, RecordIntake& in) {
  for (;;) {
    RecordIntake::Item item = co_await in.take(&ctx.stats(), ctx.clock());
    std::uint64_t lost = 0, first_lost = 0;
    for (;;) {
      if (item.lost_before > 0) {
        const std::uint64_t first = store.append_lost(item.lost_before, kBusLostWhy);
        if (lost == 0) first_lost = first;
        lost += item.lost_before;
      }
      const Reading& r = item.reading;
      if (r.point == kClockPoint) {
        if (const auto* offset = std::get_if<std::int64_t>(&r.value)) store.record_clock_event(r.boot, r.mono_ns, *offset);
      }
      store.append(r);
      auto next = in.try_take();
      if (!next) break;
      item = std::move(*next);
    }
    if (lost > 0)
      ctx.log().warn("{} readings dropped before they reached the store (record's bus queue of {} was full: record "
                     "was down or restarting, or the loop is overloaded); recorded as lost (\"{}\") from seq {}",
                     lost, in.capacity(), kBusLostWhy, first_lost);
  }
}

// The counters as points, the acknowledged watermark as a log line, and
// the store's own drops raised as a warning.
boost::asio::awaitable<void> report(Context& ctx, const Settings& s, store::Store& store, const RecordIntake& in) {
  Ticker ticker = ctx.ticker(s.report_period);
  std::uint64_t logged_seq = 0, logged_dropped = 0, logged_lost = 0;
  MonoTime logged_at = ctx.clock().now();
  MonoTime warned_at = logged_at - kQuietReport;
  for (;;) {
    co_await ticker.next();
    const store::StoreCounters c = store.counters();
    ctx.set_status_note(status_note(store));
    const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
    ctx.publish(s.prefix + ".committed_seq", i64(c.committed_seq));
    ctx.publish(s.prefix + ".rows_written", i64(c.rows_written));
    ctx.publish(s.prefix + ".batches", i64(c.batches));
    ctx.publish(s.prefix + ".busy_retries", i64(c.busy_retries));
    ctx.publish(s.prefix + ".dropped", i64(c.dropped));
    ctx.publish(s.prefix + ".pruned_delivered", i64(c.pruned_delivered));
    ctx.publish(s.prefix + ".pruned_undelivered", i64(c.pruned_undelivered));
    ctx.publish(s.prefix + ".db_size_bytes", i64(c.db_size_bytes));
    ctx.publish(s.prefix + ".queue_depth", static_cast<std::int64_t>(c.queue_depth));
    ctx.publish(s.prefix + ".bus_dropped", i64(in.dropped()));  // this process, every run of record
    ctx.publish(s.prefix + ".bus_queue_depth", static_cast<std::int64_t>(in.depth()));
    ctx.publish(s.prefix + ".last_commit_ms", std::chrono::duration<double, std::milli>(c.last_commit_latency).count());
    const MonoTime now = ctx.clock().now();
    // Losses are warned about at once, then at most once a minute (summed).
    if ((c.dropped != logged_dropped || c.pruned_undelivered != logged_lost) && now - warned_at >= kQuietReport) {
      if (c.dropped != logged_dropped)
        ctx.log().warn("store dropped {} readings (queue of {} full); recorded as lost, see the gaps",
                       c.dropped - logged_dropped, store.options().queue_capacity);
      if (c.pruned_undelivered != logged_lost)
        ctx.log().warn("store pruned {} readings before they were delivered (size cap, retention or disk full); "
                       "recorded as lost, see the gaps",
                       c.pruned_undelivered - logged_lost);
      logged_dropped = c.dropped;
      logged_lost = c.pruned_undelivered;
      warned_at = now;
    }
    if (c.committed_seq != logged_seq || now - logged_at >= kQuietReport) {
      ctx.log().info("store: committed through seq {} ({} rows in {} batches, last commit {:.1f} ms, busy retries "
                     "{}, queue {}, db {} bytes)",
                     c.committed_seq, c.rows_written, c.batches,
                     std::chrono::duration<double, std::milli>(c.last_commit_latency).count(), c.busy_retries,
                     c.queue_depth, c.db_size_bytes);
      logged_seq = c.committed_seq;
      logged_at = now;
    }
  }
}

// The store's health: this run fails when the store gives up on its file.
// Degraded (the store could not be reopened), it retries the store quietly
// every reopen_period and goes on watching once it is back.
boost::asio::awaitable<void> guard(Context& ctx, const Settings& s, store::Store& store, bool degraded) {
  std::string last_error;  // a reopen failing differently is logged once, not every attempt
  while (degraded) {
    co_await ctx.sleep(s.reopen_period);
    try {
      co_await ctx.blocking([&store] { store.open_blocking(); });
      degraded = false;
      ctx.log().info("the store is writable again; recording goes on (what was dropped meanwhile is recorded as lost)");
    } catch (const store::StoreError& e) {
      if (e.what() != last_error) ctx.log().warn("the store still cannot be opened: {}", e.what());
      last_error = e.what();
    }
    ctx.set_status_note(status_note(store));
  }
  const std::string why = co_await store.failure();
  ctx.set_status_note(status_note(store));
  throw store::StoreError(why);
}

boost::asio::awaitable<void> run(Context& ctx, const Settings& s, store::Store& store, RecordIntake* process_intake) {
  // First of all, so that readings published while the store opens wait
  // for us. The process's intake already holds what came while record was
  // down; a private one (no process intake) lives as long as this run.
  RecordIntake own_intake;
  RecordIntake& in = process_intake != nullptr ? *process_intake : own_intake;
  const std::size_t waiting = in.depth();
  if (in.configure(ctx.bus(), s.pattern, s.capacity) && waiting > 0)
    ctx.log().info("bus queue changed to '{}' (capacity {}): the {} readings waiting in the old one are recorded first",
                   s.pattern, s.capacity, waiting);
  // On the blocking pool (not the loop): a StoreError fails this run (logged,
  // restarted with backoff), and the virtual clock waits for the open.
  // A store that was open before in this process but cannot be reopened
  // (a read-only file system) degrades this run instead of failing it
  // again and again: the box keeps gathering and uploading what it has.
  bool degraded = false;
  std::optional<std::string> full;  // the first open of this process met a full file system
  try {
    co_await ctx.blocking([&store] { store.open_blocking(); });
  } catch (const store::StoreFullError& e) {
    if (store.accepting()) {
      degraded = true;
      ctx.log().error("{}; recording continues in memory (queue of {}, then the oldest are dropped and recorded as "
                      "lost), the store is retried every {:.1f} s",
                      e.what(), store.options().queue_capacity, std::chrono::duration<double>(s.reopen_period).count());
    } else {
      full = e.what();
    }
  } catch (const store::StoreError& e) {
    if (!store.accepting()) throw;
    degraded = true;
    ctx.log().error("{}; recording continues in memory (queue of {}, then the oldest are dropped and recorded as "
                    "lost), the store is retried every {:.1f} s",
                    e.what(), store.options().queue_capacity, std::chrono::duration<double>(s.reopen_period).count());
  }
  // A full card at start (weftd restarted on it): failing this run would
  // restart it at once, again and again, until weftd escalated (6 failures
  // in 2.4 s, exit 3: a crash loop of the whole box under systemd). Ready
  // without the store instead, the readings wait in the bus queue
  // (recorded first once it opens; the oldest past its capacity dropped
  // and recorded as lost), and the open is retried every reopen_period.
  bool readied = false;
  if (full) {
    ctx.log().error("{}; record runs without its store: readings wait in the bus queue (capacity {}; past it the "
                    "oldest are dropped and recorded as lost when the store opens), the open is retried every {:.1f} s",
                    *full, s.capacity, std::chrono::duration<double>(s.reopen_period).count());
    ctx.set_status_note("store cannot be opened (file system full): " + full->substr(0, kNoteChars));
    ctx.ready();
    readied = true;
    std::string last = *full;
    for (;;) {
      co_await ctx.sleep(s.reopen_period);
      std::string still;
      try {
        co_await ctx.blocking([&store] { store.open_blocking(); });
      } catch (const store::StoreFullError& e) {
        still = e.what();
      }
      if (still.empty()) break;
      if (still != last) ctx.log().warn("the store still cannot be opened: {}", still);
      last = std::move(still);
    }
    ctx.log().info("the store is open; recording goes on ({} readings waiting in the bus queue)", in.depth());
  }
  ctx.set_status_note(status_note(store));
  // The offset in effect now, so this boot's readings can be corrected even
  // if the clock never jumps while we run.
  const std::int64_t mono = to_ns(ctx.clock().now());
  store.record_clock_event(BootId::current(), mono, ctx.clock().wall_ns() - mono);
  ctx.log().info("recording '{}' into {} (bus queue {}, {} readings waiting in it; store queue {}, batches of {} rows "
                 "or {:.0f} ms)",
                 s.pattern, store.options().path, s.capacity, in.depth(), store.options().queue_capacity,
                 store.options().batch_rows, std::chrono::duration<double, std::milli>(store.options().batch_age).count());
  const auto commands = add_store_commands(ctx, store, in);  // gone when this run ends
  if (!readied) ctx.ready();
  TaskGroup group(ctx.executor());
  group.spawn(intake(ctx, store, in));
  group.spawn(report(ctx, s, store, in));
  group.spawn(guard(ctx, s, store, degraded));
  co_await group.join();
}

}  // namespace

ServiceFactory record_factory(const RunMode& mode, store::Store* store) {
  return {"record", "records readings in the SQLite store ([store])",
          [store, process_intake = mode.record_intake](const ConfigSection& section, const ConfigSection&,
                                                       RestartPolicy policy) {
            Settings s{section.string("pattern", "*"),
                       static_cast<std::size_t>(section.integer("capacity", 65536, 1, 10'000'000)),
                       section.duration("report_period", std::chrono::seconds(5), std::chrono::milliseconds(10)),
                       section.string("prefix", "weft.store"),
                       section.duration("reopen_period", std::chrono::seconds(30), std::chrono::milliseconds(10))};
            if (s.prefix.empty()) section.fail("prefix", "must not be empty");
            auto needs = section.string_array("needs");
            return coroutine_service("record", std::move(needs), policy, [s, store, process_intake](Context& ctx) {
              return run(ctx, s, *store, process_intake);
            });
          },
          {},
          [store](const ConfigSection& section, const ConfigSection&) {
            if (store == nullptr)
              throw ConfigError(section.where("") + ": service.record: there is no store to record into; add a "
                                                    "[store] table with path = \"/var/lib/weft/readings.db\"");
          }};
}

}  // namespace weft::apps
