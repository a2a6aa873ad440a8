// `weft-bench simulate`: how fast gather simulates on the virtual clock.
// A generated config (N instruments of a few registers on P ports) is
// assembled exactly as `weftd --simulate gather --virtual-time --for Hh`
// does (apps::assemble with RunMode{simulate}, a Runtime with virtual_time
// and stop_after), in this process. Timed: Runtime::run() only, wall and
// CPU (the whole process: loop, log thread, pool); building the runtime and
// tearing it down are printed apart. The figure is instrument-hours
// simulated per wall second = N x H / wall_s.
#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "bench_support.hpp"
#include "benches.hpp"
#include "measure.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/gather/bus_poller.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"

namespace weft::bench {

int run_simulate(const SimulateArgs& a) {
  Figures out("simulate");
  out.host();
  GatherShape shape;
  shape.ports = a.ports;
  shape.instruments = a.instruments;
  shape.points = a.points;
  shape.period_ms = a.period_ms;
  shape.log_level = a.log_level;
  shape.port_dir = "/nonexistent";  // simulated: never opened

  const auto level = weft::logging::parse_level(a.log_level);
  weft::logging::set_default_level(*level);
  apps::GatherReport report;
  const apps::RunMode mode{true, 1, &report};
  auto assembly = apps::assemble(Config::parse(gather_config_text(shape), "weft-bench-simulate.toml"), mode);
  assembly.options.virtual_time = true;
  assembly.options.handle_signals = false;
  const auto simulated = std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::ratio<3600>>(a.hours));

  CpuSample c0, c1;
  double simulated_s = 0;
  std::vector<ServiceSnapshot> services;
  BusStats bus{};
  const auto setup0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point teardown0;
  {
    Runtime runtime(assembly.options);
    apps::add_services(runtime, assembly);
    runtime.stop_after(simulated);
    const MonoTime started = runtime.clock().now();
    c0 = sample_cpu();
    const int status = runtime.run();
    c1 = sample_cpu();
    if (status != kExitOk) throw std::runtime_error("runtime exited with status " + std::to_string(status));
    simulated_s = std::chrono::duration<double>(runtime.clock().now() - started).count();
    services = runtime.snapshot();
    bus = runtime.bus().stats();
    teardown0 = std::chrono::steady_clock::now();
  }
  const auto teardown1 = std::chrono::steady_clock::now();
  weft::logging::flush();

  apps::InstrumentCounters sum;
  for (const auto& [name, c] : report.instruments) {
    sum.polls += c.polls;
    sum.good_polls += c.good_polls;
    sum.readings += c.readings;
    sum.timeouts += c.timeouts;
    sum.crc_errors += c.crc_errors;
    sum.other_errors += c.other_errors + c.exceptions;
    sum.line_busy += c.line_busy;
    sum.missed += c.missed;
  }
  const double wall_s = static_cast<double>(c1.mono_ns - c0.mono_ns) / 1e9;
  const double cpu_s = static_cast<double>(c1.process_ns - c0.process_ns) / 1e9;
  const double polls = static_cast<double>(sum.polls);
  const double expected_polls = a.instruments * simulated_s * 1e3 / a.period_ms;
  const ServiceStats* gather = nullptr;
  for (const auto& s : services)
    if (s.name == "gather") gather = &s.stats;

  out.count("instruments", static_cast<std::uint64_t>(a.instruments));
  out.count("ports", static_cast<std::uint64_t>(a.ports));
  out.count("points_per_instrument", static_cast<std::uint64_t>(a.points));
  out.count("registers_per_instrument", static_cast<std::uint64_t>(shape.registers()));
  out.num("period_ms", a.period_ms, 1);
  out.num("simulated_h", simulated_s / 3600, 3);
  out.num("wall_s", wall_s, 3);
  out.num("instrument_hours_per_wall_s", a.instruments * (simulated_s / 3600) / wall_s, 0);
  // The same work per CPU second (independent of other load on the host), and
  // in instrument-seconds (= polls at a 1 s period) per wall second.
  out.num("instrument_hours_per_cpu_s", a.instruments * (simulated_s / 3600) / cpu_s, 0);
  out.num("instrument_seconds_per_wall_s", a.instruments * simulated_s / wall_s, 0);
  out.num("speedup", simulated_s / wall_s, 0);
  out.num("cpu_s", cpu_s, 3);
  out.num("loop_thread_cpu_s", static_cast<double>(c1.thread_ns - c0.thread_ns) / 1e9, 3);
  out.num("user_s", static_cast<double>(c1.user_us - c0.user_us) / 1e6, 3);
  out.num("sys_s", static_cast<double>(c1.sys_us - c0.sys_us) / 1e6, 3);
  out.num("cpu_pct_of_wall", 100 * cpu_s / wall_s, 1);
  out.num("setup_ms", std::chrono::duration<double, std::milli>(teardown0 - setup0).count() - wall_s * 1e3, 1);
  out.num("teardown_ms", std::chrono::duration<double, std::milli>(teardown1 - teardown0).count(), 1);
  out.count("polls", sum.polls);
  out.num("polls_expected", expected_polls, 0);
  out.count("good_polls", sum.good_polls);
  out.count("readings", sum.readings);
  out.count("bus_published", bus.published);
  out.count("timeouts", sum.timeouts);
  out.count("crc_errors", sum.crc_errors);
  out.count("other_errors", sum.other_errors);
  out.count("line_busy", sum.line_busy);
  out.count("missed_periods", sum.missed);
  out.num("polls_per_wall_s", polls / wall_s, 0);
  out.num("cpu_us_per_poll", cpu_s * 1e6 / polls, 3);
  out.num("cpu_us_per_reading", cpu_s * 1e6 / static_cast<double>(sum.readings), 3);
  if (gather != nullptr) {
    out.num("gather_loop_us_per_poll", static_cast<double>(gather->loop_ns) / 1e3 / polls, 3);
    out.num("gather_slices_per_poll", static_cast<double>(gather->slices) / polls, 2);
    out.num("gather_allocations_per_poll", static_cast<double>(gather->allocations) / polls, 2);
    out.num("gather_alloc_bytes_per_poll", static_cast<double>(gather->allocated_bytes) / polls, 0);
  }
  out.host();
  return 0;
}

}  // namespace weft::bench
