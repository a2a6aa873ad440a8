// The `services` workload, identical for weft and bare Asio: N periodic
// services with phases staggered by period/N from one common epoch, each
// tick recording its lateness in the Probe; how a child process reports one
// measurement window (timing mode) or its resident memory (rss mode).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "measure.hpp"
#include "weft/core/clock.hpp"

// Under callgrind (`services --instructions`) the window's own instructions
// are counted: its stats are zeroed as it opens and dumped as it closes, so
// start-up, warm-up and teardown are left out. Outside valgrind the client
// requests are a few no-op instructions.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define WEFT_BENCH_CALLGRIND_WINDOW 1
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(name)
#define WEFT_BENCH_CALLGRIND_WINDOW 0
#endif

namespace weft::bench {

enum class Mode { timing, rss };

struct Workload {
  std::size_t count = 1000;
  Duration period = std::chrono::milliseconds(10);
  std::optional<Duration> slack;  // weft only; unset: the runtime's default
  Duration warmup = std::chrono::seconds(1);
  Duration window = std::chrono::seconds(10);
  Mode mode = Mode::timing;
  MonoTime epoch{};  // phase origin, taken by the child before it starts anything

  // Service i's first deadline: epoch + i*period/count, moved on by whole
  // periods until it is not before `now`, so the stagger holds however long
  // startup took.
  MonoTime first_deadline(std::size_t i, MonoTime now) const noexcept {
    MonoTime first = epoch + period * static_cast<std::int64_t>(i) / static_cast<std::int64_t>(count);
    if (first < now) first += ((now - first) / period + 1) * period;
    return first;
  }
};

// What the services record. One per child process, preallocated.
struct Probe {
  LatencyHistogram lateness;
  std::uint64_t wakeups = 0;  // ticks delivered to service bodies
  std::uint64_t missed = 0;   // ticks skipped (weft ticker) because a wake came whole periods late
  std::uint64_t started = 0;  // services that have had their first tick
  MonoTime all_started_at{};  // when the last of them had it

  void first_tick(MonoTime now, std::size_t count) noexcept {
    if (++started == count) all_started_at = now;
  }

  void on_tick(Duration late, std::uint64_t missed_ticks) noexcept {
    lateness.record(late.count());
    ++wakeups;
    missed += missed_ticks;
  }
};

// The measurement window: opened after warm-up, once every service runs.
struct Window {
  CpuSample begin_cpu;
  std::uint64_t begin_wakeups = 0, begin_missed = 0;

  void open(Probe& p) {
    p.lateness.reset();
    begin_wakeups = p.wakeups;
    begin_missed = p.missed;
    begin_cpu = sample_cpu();
    CALLGRIND_ZERO_STATS;
  }
  // Closes the window and fills `line` with what happened inside it.
  void close(const Probe& p, ResultLine& line) const {
    CALLGRIND_DUMP_STATS_AT("window");
    const CpuSample end = sample_cpu();
    line.add("window_ns", end.mono_ns - begin_cpu.mono_ns)
        .add("cpu_ns", end.process_ns - begin_cpu.process_ns)
        .add("loop_thread_ns", end.thread_ns - begin_cpu.thread_ns)
        .add("user_us", end.user_us - begin_cpu.user_us)
        .add("sys_us", end.sys_us - begin_cpu.sys_us)
        .add("voluntary_switches", end.voluntary_switches - begin_cpu.voluntary_switches)
        .add("involuntary_switches", end.involuntary_switches - begin_cpu.involuntary_switches)
        .add("wakeups", p.wakeups - begin_wakeups)
        .add("missed", p.missed - begin_missed)
        .add("lat_count", p.lateness.count())
        .add("lat_negative", p.lateness.negative())
        .add("lat_p50_ns", p.lateness.percentile(0.50))
        .add("lat_p99_ns", p.lateness.percentile(0.99))
        .add("lat_p999_ns", p.lateness.percentile(0.999))
        .add("lat_max_ns", p.lateness.max())
        .add("lat_mean_ns", static_cast<std::int64_t>(p.lateness.mean()));
  }
};

inline std::int64_t ns_since(MonoTime from, MonoTime to) noexcept { return (to - from).count(); }

// Child entry points: run the workload in this process, print one result line.
int run_weft_child(Workload w);
int run_bare_child(Workload w);

}  // namespace weft::bench
