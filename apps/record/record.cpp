// record: every reading on the bus (or those matching `pattern`) recorded
// in the store ([store]), each with its per-box sequence number. Ready once
// the database is open and migrated. Nothing is lost silently: readings the
// bus dropped before they reached us and readings the store dropped (queue
// full) are counted, logged and published. Wall-clock offsets (at start and
// at every clock jump, point weft.clock.offset_ns) are recorded as clock
// events, so uploaded timestamps can be corrected.
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
// and the state in `store` and in the status line (STATUS=).
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
//   store_commands.cpp  `sql`, `store`, `gaps` (on the store's reader thread)
// The [store] table itself is read in apps/assembly/store_config.cpp.
#include <spdlog/spdlog.h>

#include "weft/apps/assembly/catalog.hpp"
#include "weft/apps/record/store_commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::apps {
namespace {

constexpr std::string_view kClockPoint = "weft.clock.offset_ns";
constexpr Duration kQuietReport = std::chrono::minutes(1);  // "committed through" repeats at least this often
constexpr std::size_t kNoteChars = 160;                       // of an error or incident in the status line

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

// Bus readings into the store. append() never blocks; a reading the bus
// dropped before we received it never got a seq: count and report it here.
boost::asio::awaitable<void> intake(Context& ctx, const Settings& s, store::Store& store, Subscription& sub) {
  std::uint64_t reported_bus_drops = 0;
  for (;;) {
    Reading r = co_await sub.receive();
    for (;;) {
      if (r.point == kClockPoint) {
        if (const auto* offset = std::get_if<std::int64_t>(&r.value)) store.record_clock_event(r.boot, r.mono_ns, *offset);
      }
      store.append(r);
      auto next = sub.try_receive();
      if (!next) break;
      r = std::move(*next);
    }
    if (sub.dropped() != reported_bus_drops) {
      ctx.log().warn("{} readings dropped before they reached the store (bus queue of {} full: the loop is overloaded); "
                     "they were never recorded",
                     sub.dropped() - reported_bus_drops, s.capacity);
      reported_bus_drops = sub.dropped();
    }
  }
}

// The counters as points, the acknowledged watermark as a log line, and
// the store's own drops raised as a warning.
boost::asio::awaitable<void> report(Context& ctx, const Settings& s, store::Store& store, const Subscription& sub) {
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
    ctx.publish(s.prefix + ".bus_dropped", i64(sub.dropped()));
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

boost::asio::awaitable<void> run(Context& ctx, const Settings& s, store::Store& store) {
  // On the blocking pool (not the loop): a StoreError fails this run (logged,
  // restarted with backoff), and the virtual clock waits for the open.
  // A store that was open before in this process but cannot be reopened
  // (a read-only file system) degrades this run instead of failing it
  // again and again: the box keeps gathering and uploading what it has.
  bool degraded = false;
  try {
    co_await ctx.blocking([&store] { store.open_blocking(); });
  } catch (const store::StoreError& e) {
    if (!store.accepting()) throw;
    degraded = true;
    ctx.log().error("{}; recording continues in memory (queue of {}, then the oldest are dropped and recorded as "
                    "lost), the store is retried every {:.1f} s",
                    e.what(), store.options().queue_capacity, std::chrono::duration<double>(s.reopen_period).count());
  }
  ctx.set_status_note(status_note(store));
  Subscription sub = ctx.subscribe(s.pattern, s.capacity);
  // The offset in effect now, so this boot's readings can be corrected even
  // if the clock never jumps while we run.
  const std::int64_t mono = to_ns(ctx.clock().now());
  store.record_clock_event(BootId::current(), mono, ctx.clock().wall_ns() - mono);
  ctx.log().info("recording '{}' into {} (bus queue {}, store queue {}, batches of {} rows or {:.0f} ms)", s.pattern,
                 store.options().path, s.capacity, store.options().queue_capacity, store.options().batch_rows,
                 std::chrono::duration<double, std::milli>(store.options().batch_age).count());
  const auto commands = add_store_commands(ctx, store);  // gone when this run ends
  ctx.ready();
  TaskGroup group(ctx.executor());
  group.spawn(intake(ctx, s, store, sub));
  group.spawn(report(ctx, s, store, sub));
  group.spawn(guard(ctx, s, store, degraded));
  co_await group.join();
}

}  // namespace

ServiceFactory record_factory(const RunMode&, store::Store* store) {
  return {"record", "records readings in the SQLite store ([store])",
          [store](const ConfigSection& section, const ConfigSection&, RestartPolicy policy) {
            Settings s{section.string("pattern", "*"),
                       static_cast<std::size_t>(section.integer("capacity", 65536, 1, 10'000'000)),
                       section.duration("report_period", std::chrono::seconds(5), std::chrono::milliseconds(10)),
                       section.string("prefix", "weft.store"),
                       section.duration("reopen_period", std::chrono::seconds(30), std::chrono::milliseconds(10))};
            if (s.prefix.empty()) section.fail("prefix", "must not be empty");
            auto needs = section.string_array("needs");
            return coroutine_service("record", std::move(needs), policy,
                                     [s, store](Context& ctx) { return run(ctx, s, *store); });
          },
          {},
          [store](const ConfigSection& section, const ConfigSection&) {
            if (store == nullptr)
              throw ConfigError(section.where("") + ": service.record: there is no store to record into; add a "
                                                    "[store] table with path = \"/var/lib/weft/readings.db\"");
          }};
}

}  // namespace weft::apps
