// `weft-bench gather`: loop CPU per published reading, gather on the real
// clock at a steady reading rate (default 1,000/s: 100 instruments x 10
// points every 1 s, on 10 ports at 19200 8E1), in this process.
//
// What is measured, over a window opened after a warm-up:
//   loop_cpu_us_per_reading  CLOCK_THREAD_CPUTIME_ID of the loop thread (this
//       thread runs Runtime::run) / readings received by a counting
//       subscriber. Everything on the loop: gather's pollers and RTU
//       masters, the simulated devices (see below), bus fan-out, the
//       counting subscriber, the runtime's timers and epoll.
//   process_cpu_us_per_reading  the same for every thread (log, pool).
//   gather_loop_us_per_reading / count_loop_us_per_reading  the runtime's
//       per-service accounting (Runtime::snapshot stats.loop_ns: monotonic
//       time the service's handlers held the loop; includes preemption, so
//       on a busy host it exceeds CPU). unattributed = loop thread CPU minus
//       all services' loop_ns: runtime work outside any service slice.
//
// --devices sim (default): `--simulate` mode. The simulated devices are
//   coroutines inside gather's TaskGroup, talking over in-memory pipes, so
//   their cost IS in gather's loop_ns and in the loop thread CPU.
// --devices pty: gather in real mode on ptys, each served by a weft-devsim
//   process (no wire time). The devices run in other processes, so the loop
//   CPU is gather alone, but with tty syscalls (tcflush, read, write)
//   instead of pipes; the devsims' loop CPU is printed apart.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "bench_support.hpp"
#include "benches.hpp"
#include "measure.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"

namespace weft::bench {
namespace {

struct Counts {
  std::uint64_t readings = 0;
  std::uint64_t not_good = 0;
};

struct Sample {
  CpuSample cpu;
  std::vector<ServiceSnapshot> services;
  BusStats bus{};
  Counts counts;
  std::int64_t devsim_ns = 0;  // summed over the devsim processes (pty mode)
};

struct Shared {
  const GatherArgs* args = nullptr;
  const std::vector<std::unique_ptr<DevsimProcess>>* devsims = nullptr;
  Counts counts;
  Sample begin, end;
  bool done = false;
};

Sample take(Runtime& runtime, const Shared& s) {
  Sample x;
  x.cpu = sample_cpu();  // on the loop thread: thread_ns is the loop's CPU
  x.services = runtime.snapshot();
  x.bus = runtime.bus().stats();
  x.counts = s.counts;
  for (const auto& d : *s.devsims) x.devsim_ns += d->loop_cpu_ns();
  return x;
}

ServiceSpec counter(Shared& shared) {
  return coroutine_service("count", {}, {}, [sp = &shared](Context& ctx) -> boost::asio::awaitable<void> {
    Shared& s = *sp;
    Subscription sub = ctx.subscribe("*", 65536);
    ctx.ready();
    for (;;) {
      const Reading r = co_await sub.receive();
      ++s.counts.readings;
      if (r.quality != Quality::good) ++s.counts.not_good;
    }
  });
}

ServiceSpec observer(Runtime& rt, Shared& shared) {
  return coroutine_service("observer", {"gather", "count"}, {},
                           [rp = &rt, sp = &shared](Context& ctx) -> boost::asio::awaitable<void> {
    Runtime& runtime = *rp;
    Shared& s = *sp;
    ctx.ready();
    const GatherArgs& a = *s.args;
    // Every instrument is first due when gather starts (just before this
    // service), so polls come in bursts at whole periods from now. The window
    // opens half a period after the warm-up, in the quiet between bursts, and
    // lasts whole periods: it cuts no burst.
    const auto period = std::chrono::duration<double, std::milli>(a.period_ms);
    const auto periods = std::max(1.0, std::ceil(a.seconds * 1e3 / a.period_ms));
    const MonoTime t0 = ctx.clock().now();
    const double warm_periods = std::ceil(a.warmup_s * 1e3 / a.period_ms) + 0.5;
    const MonoTime open_at = t0 + std::chrono::duration_cast<Duration>(period * warm_periods);
    co_await ctx.sleep_until(open_at);
    s.begin = take(runtime, s);
    co_await ctx.sleep_until(open_at + std::chrono::duration_cast<Duration>(period * periods));
    s.end = take(runtime, s);
    s.done = true;
    runtime.request_stop();
    co_await ctx.sleep(std::chrono::hours(1));  // the stop cancels this
  });
}

const ServiceStats* stats_of(const Sample& x, const std::string& name) {
  for (const auto& s : x.services)
    if (s.name == name) return &s.stats;
  return nullptr;
}

}  // namespace

int run_gather(const GatherArgs& a) {
  Figures out("gather");
  out.host();
  if (a.devices != "sim" && a.devices != "pty") throw std::runtime_error("--devices must be sim or pty");
  const bool simulate = a.devices == "sim";
  const double per_instrument = a.points * 1e3 / a.period_ms;  // readings/s of one instrument
  const int instruments = static_cast<int>(std::lround(a.readings_per_s / per_instrument));
  if (instruments < 1) throw std::runtime_error("--readings-per-s too low for --points and --period-ms");

  TempDir dir("weft-bench-gather");
  GatherShape shape;
  shape.ports = std::min(a.ports, instruments);
  shape.instruments = instruments;
  shape.points = a.points;
  shape.period_ms = a.period_ms;
  shape.log_level = a.log_level;
  shape.port_dir = simulate ? "/nonexistent" : dir.path();
  shape.lock_dir = dir.path();
  const std::string config = dir.write("gather.toml", gather_config_text(shape));

  std::vector<std::unique_ptr<DevsimProcess>> devsims;
  if (!simulate) {
    const std::string devsim = find_devsim(a.devsim);
    for (int k = 0; k < shape.ports; ++k) {
      devsims.push_back(std::make_unique<DevsimProcess>());
      devsims.back()->start(devsim, config, port_name(k), port_path(shape, k), /*wire_time=*/false);
    }
  }

  weft::logging::set_default_level(*weft::logging::parse_level(a.log_level));
  const apps::RunMode mode{simulate, 1, nullptr};
  auto assembly = apps::assemble(Config::load_file(config), mode);
  assembly.options.handle_signals = false;
  Shared s;
  s.args = &a;
  s.devsims = &devsims;
  int status = 0;
  {
    Runtime runtime(assembly.options);
    apps::add_services(runtime, assembly);
    runtime.add(counter(s));
    runtime.add(observer(runtime, s));
    runtime.stop_after(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(a.warmup_s + a.seconds + 60)));
    status = runtime.run();
  }
  for (auto& d : devsims) d->stop();
  if (!s.done) throw std::runtime_error("the measurement window did not complete (status " + std::to_string(status) + ")");

  const Sample& b = s.begin;
  const Sample& e = s.end;
  const double window_s = static_cast<double>(e.cpu.mono_ns - b.cpu.mono_ns) / 1e9;
  const double readings = static_cast<double>(e.counts.readings - b.counts.readings);
  const double loop_cpu_ns = static_cast<double>(e.cpu.thread_ns - b.cpu.thread_ns);
  const double process_cpu_ns = static_cast<double>(e.cpu.process_ns - b.cpu.process_ns);
  auto loop_ns = [&](const std::string& name) {
    const ServiceStats* x = stats_of(b, name);
    const ServiceStats* y = stats_of(e, name);
    return x && y ? static_cast<double>(y->loop_ns - x->loop_ns) : NAN;
  };
  double attributed_ns = 0;
  for (const auto& sv : e.services) attributed_ns += loop_ns(sv.name);
  const ServiceStats* g0 = stats_of(b, "gather");
  const ServiceStats* g1 = stats_of(e, "gather");

  out.text("devices", simulate ? "sim (in gather, counted in its loop time)" : "pty (weft-devsim processes, not counted)");
  out.count("instruments", static_cast<std::uint64_t>(instruments));
  out.count("ports", static_cast<std::uint64_t>(shape.ports));
  out.count("points_per_instrument", static_cast<std::uint64_t>(a.points));
  out.count("registers_per_instrument", static_cast<std::uint64_t>(shape.registers()));
  out.num("period_ms", a.period_ms, 1);
  out.num("window_s", window_s, 3);
  out.num("readings_per_s", readings / window_s, 1);
  out.count("readings", static_cast<std::uint64_t>(readings));
  out.count("readings_not_good", e.counts.not_good - b.counts.not_good);
  out.count("bus_published", e.bus.published - b.bus.published);
  out.count("bus_dropped", e.bus.dropped - b.bus.dropped);
  out.num("loop_cpu_us_per_reading", loop_cpu_ns / 1e3 / readings, 3);
  out.num("process_cpu_us_per_reading", process_cpu_ns / 1e3 / readings, 3);
  out.num("loop_cpu_pct", 100 * loop_cpu_ns / 1e9 / window_s, 2);
  out.num("gather_loop_us_per_reading", loop_ns("gather") / 1e3 / readings, 3);
  out.num("count_loop_us_per_reading", loop_ns("count") / 1e3 / readings, 3);
  out.num("unattributed_loop_us_per_reading", (loop_cpu_ns - attributed_ns) / 1e3 / readings, 3);
  if (g0 != nullptr && g1 != nullptr) {
    out.num("gather_slices_per_reading", static_cast<double>(g1->slices - g0->slices) / readings, 3);
    out.num("gather_allocations_per_reading", static_cast<double>(g1->allocations - g0->allocations) / readings, 2);
    out.num("gather_alloc_bytes_per_reading",
            static_cast<double>(g1->allocated_bytes - g0->allocated_bytes) / readings, 0);
  }
  out.num("process_voluntary_switches_per_reading",
          static_cast<double>(e.cpu.voluntary_switches - b.cpu.voluntary_switches) / readings, 3);
  out.num("involuntary_switches_per_s",
          static_cast<double>(e.cpu.involuntary_switches - b.cpu.involuntary_switches) / window_s, 1);
  if (!simulate) out.num("devsim_loop_cpu_us_per_reading", static_cast<double>(e.devsim_ns - b.devsim_ns) / 1e3 / readings, 3);
  out.host();
  return 0;
}

}  // namespace weft::bench
