// `weft-bench store`: the SQLite store on this machine's disk, for each
// synchronous mode (normal, full), with batches of --batch-rows or
// --batch-age, whichever comes first:
//   steady      --rate readings/s for --seconds, appended from the loop in
//               10 ms ticks: commit latency p50/p99/max (BEGIN..COMMIT per
//               batch, on the writer thread) and bytes written to disk per
//               reading (/proc/self/io write_bytes, from before the first
//               append to after the store is closed: the final checkpoint
//               is included, it would come anyway);
//   throughput  --throughput-rows appended as fast as the writer takes
//               them (the queue kept under half its capacity, so nothing
//               is dropped): sustained rows/s and bytes per reading;
//   raw         the same rows in weft's schema by a plain loop of
//               prepared inserts, one transaction per batch
//               (store_raw.cpp), and weft's throughput as a fraction of it.
// The database lives in a fresh directory under --dir (default: the
// current directory; /tmp may be a tmpfs, which writes nothing to disk).
// Each figure is one "store key=value ..." line.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdlib.h>

#include "benches.hpp"
#include "measure.hpp"
#include "store_raw.hpp"
#include "weft/core/log.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t write_bytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value)
    if (key == "write_bytes:") return value;
  throw std::runtime_error("/proc/self/io has no write_bytes (kernel without task I/O accounting?)");
}

Reading reading(std::uint64_t i) {
  const auto now = Clock::now().time_since_epoch().count();
  char name[32];
  std::snprintf(name, sizeof name, "bench.p%02u", static_cast<unsigned>(i % 20));
  return Reading{name, 20.0 + static_cast<double>(i % 1000) * 0.01, Quality::good, now, BootId::current(), now};
}

struct Run {
  LatencyHistogram commits;
  std::mutex mutex;  // the observer runs on the writer thread
  std::uint64_t batches = 0;
  std::uint64_t rows = 0;
};

struct Result {
  double seconds = 0;
  std::uint64_t readings = 0;
  std::uint64_t written = 0;   // write_bytes delta
  std::uint64_t db_bytes = 0;  // the file at the end
  std::uint64_t dropped = 0;
};

store::StoreOptions options(const StoreArgs& a, const std::filesystem::path& db, store::StoreOptions::Synchronous sync,
                            Run& run) {
  store::StoreOptions o;
  o.path = db.string();
  o.batch_rows = static_cast<std::size_t>(a.batch_rows);
  o.batch_age = std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(a.batch_age_ms));
  o.synchronous = sync;
  o.commit_observer = [&run](std::size_t rows, Duration latency) {
    std::lock_guard lock(run.mutex);
    run.commits.record(latency.count());
    ++run.batches;
    run.rows += rows;
  };
  return o;
}

// Appends `per_tick` readings every 10 ms for `seconds`.
boost::asio::awaitable<void> steady(store::Store& s, double rate, double seconds, std::uint64_t& appended) {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  const auto tick = std::chrono::milliseconds(10);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto next = start;
  while (next < end) {
    const auto due = static_cast<std::uint64_t>(rate * std::chrono::duration<double>(next - start + tick).count());
    while (appended < due) s.append(reading(appended++));
    next += tick;
    timer.expires_at(next);
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
  co_await s.flushed();
}

boost::asio::awaitable<void> flat_out(store::Store& s, std::uint64_t rows, std::size_t capacity, std::uint64_t& appended) {
  while (appended < rows) {
    while (appended < rows && s.counters().queue_depth < capacity / 2) s.append(reading(appended++));
    co_await s.flushed();
  }
}

Result measure(const StoreArgs& a, store::StoreOptions::Synchronous sync, bool throughput, Run& run) {
  char tmpl[4096];
  std::snprintf(tmpl, sizeof tmpl, "%s/weft-store-bench-XXXXXX", a.dir.c_str());
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error(std::string("cannot create a directory in ") + a.dir);
  const std::filesystem::path dir(tmpl);
  Result r;
  {
    boost::asio::io_context ioc;
    std::uint64_t before = 0;
    auto store_options = options(a, dir / "bench.db", sync, run);
    const std::size_t capacity = store_options.queue_capacity;
    {
      store::Store s(std::move(store_options));
      std::exception_ptr error;
      auto body = [&]() -> boost::asio::awaitable<void> {
        co_await s.open();
        before = write_bytes();
        const auto started = Clock::now();
        if (throughput) co_await flat_out(s, static_cast<std::uint64_t>(a.throughput_rows), capacity, r.readings);
        else co_await steady(s, a.rate, a.seconds, r.readings);
        r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
      };
      boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e) { error = e; });
      ioc.run();
      if (error) std::rethrow_exception(error);
      r.dropped = s.counters().dropped;
    }  // closed: the last checkpoint is written
    r.written = write_bytes() - before;
    r.db_bytes = std::filesystem::file_size(dir / "bench.db");
  }
  std::filesystem::remove_all(dir);
  return r;
}

void print(const char* mode, store::StoreOptions::Synchronous sync, const StoreArgs& a, const Result& r, Run& run) {
  std::lock_guard lock(run.mutex);
  const double n = static_cast<double>(r.readings);
  std::printf("store mode=%s synchronous=%s batch_rows=%d batch_age_ms=%g readings=%llu seconds=%.2f rows_per_s=%.0f "
              "batches=%llu rows_per_batch=%.1f commit_ms p50=%.3f p99=%.3f max=%.3f write_bytes_per_reading=%.1f "
              "db_bytes_per_reading=%.1f dropped=%llu\n",
              mode, store::to_string(sync), a.batch_rows, a.batch_age_ms, static_cast<unsigned long long>(r.readings),
              r.seconds, n / r.seconds, static_cast<unsigned long long>(run.batches),
              run.batches ? static_cast<double>(run.rows) / static_cast<double>(run.batches) : 0.0,
              static_cast<double>(run.commits.percentile(0.50)) / 1e6,
              static_cast<double>(run.commits.percentile(0.99)) / 1e6, static_cast<double>(run.commits.max()) / 1e6,
              static_cast<double>(r.written) / n, static_cast<double>(r.db_bytes) / n,
              static_cast<unsigned long long>(r.dropped));
  std::fflush(stdout);
}

}  // namespace

int run_store(const StoreArgs& a) {
  logging::set_default_level(*logging::parse_level(a.log_level));
  using Sync = store::StoreOptions::Synchronous;
  for (const Sync sync : {Sync::normal, Sync::full}) {
    if (a.synchronous != "both" && a.synchronous != store::to_string(sync)) continue;
    {
      Run run;
      const Result r = measure(a, sync, false, run);
      print("steady", sync, a, r, run);
    }
    {
      Run run;
      const Result r = measure(a, sync, true, run);
      print("throughput", sync, a, r, run);
      const RawResult raw = raw_throughput(a, sync);
      const double raw_rate = static_cast<double>(raw.rows) / raw.seconds;
      std::printf("store mode=raw synchronous=%s batch_rows=%d readings=%llu seconds=%.2f rows_per_s=%.0f "
                  "weft_throughput_over_raw=%.2f\n",
                  store::to_string(sync), a.batch_rows, static_cast<unsigned long long>(raw.rows), raw.seconds,
                  raw_rate, static_cast<double>(r.readings) / r.seconds / raw_rate);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace weft::bench
