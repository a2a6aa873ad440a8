// `weft-bench modbus`: Modbus RTU cycle efficiency over a pty. weft-devsim
// (a child process, --wire-time) serves one instrument with N holding
// registers; this process opens the pty like a serial adapter
// (open_exclusive + SerialStream) and runs RtuMaster read-holding-registers
// transactions back to back on a weft::Runtime (real clock). After a
// warm-up, the window runs from one transaction's completion to the first
// completion S seconds later, so it holds whole cycles only.
//
// The bound: on a real RTU line one poll cycle is at least
//   request wire time + t3.5 + response wire time + t3.5.
// Why 2 x t3.5: a frame's end is only recognisable after t3.5 of silence,
// and every frame must be preceded by t3.5 of silence. So the device cannot
// start answering before t3.5 after the request's last character (it is
// still waiting to know the request ended), and the master must leave t3.5
// of silence after the response's last character before its next request.
// The request and the response are each fenced by one mandatory silence:
// two per cycle. bound = 1 / (request + response + 2 x t3.5).
//
// weft-devsim --wire-time delays each answer by request wire time + t3.5 +
// response wire time (a pty delivers the request at once), so the pty line
// takes exactly the bound's time per cycle; what it takes beyond that is
// printed as overhead (software, syscalls, timer and scheduling latency).
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include <boost/asio/awaitable.hpp>

#include "bench_support.hpp"
#include "benches.hpp"
#include "measure.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/drivers/flight_recorder.hpp"
#include "weft/drivers/modbus/pdu.hpp"
#include "weft/drivers/modbus/rtu_master.hpp"
#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/serial_stream.hpp"

namespace weft::bench {
namespace {

struct Run {
  const ModbusArgs* args = nullptr;
  modbus::LineSettings line;
  std::optional<serial::OpenPort> port;
  const DevsimProcess* devsim = nullptr;
  // The window.
  bool done = false;
  MonoTime start{}, end{};
  CpuSample cpu0, cpu1;
  std::int64_t devsim0 = -1, devsim1 = -1;
  modbus::MasterCounters m0, m1;
  std::uint64_t transactions = 0, ok = 0, failed = 0;
  LatencyHistogram cycle;        // completion to completion
  LatencyHistogram transaction;  // transact() call to its result
  // From the flight recorder's timestamps (tx: the request written; rx: the
  // response complete), minus what the emulated line takes:
  LatencyHistogram turnaround_late;  // rx - tx - (request wire + t3.5 + response wire): devsim wake-ups, its timer, ours
  LatencyHistogram gap_late;         // next tx - rx - t3.5: our t3.5 timer's lateness, tcflush, write
};

bool is_good(const modbus::ParseResult& r, int registers) {
  const auto* regs = std::get_if<modbus::RegistersRead>(&r);
  return regs != nullptr && regs->registers.size() == static_cast<std::size_t>(registers);
}

boost::asio::awaitable<void> master_loop(Context& ctx, Runtime& runtime, Run& run) {
  const ModbusArgs& a = *run.args;
  serial::SerialStream stream(ctx.executor(), std::move(*run.port));
  FlightRecorder recorder(2);  // the last request and response: cheap to copy out after each poll
  modbus::RtuMaster master(stream, ctx.timers(), run.line, recorder);
  const modbus::Adu request = modbus::read_holding_registers(1, 0, static_cast<std::uint16_t>(a.registers));
  const modbus::MasterOptions options;  // the defaults: 500 ms timeout, 1 retry, flush before each request
  ctx.ready();
  const Clock& clock = ctx.clock();
  const auto window = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(a.seconds));
  const MonoTime warm_until = clock.now() + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(a.warmup_s));
  const Duration line_time = run.line.frame_wire_time(request.size()) + run.line.t3_5() +
                            run.line.frame_wire_time(5 + 2 * static_cast<std::size_t>(a.registers));
  const Duration t35 = run.line.t3_5();
  bool open = false;
  MonoTime deadline{}, last{}, last_rx{};
  for (;;) {
    const MonoTime t0 = clock.now();
    const modbus::ParseResult result = co_await master.transact(request, options);
    const MonoTime t1 = clock.now();
    const std::vector<RecordedFrame> frames = recorder.frames();  // [tx, rx] after a clean transaction
    const bool clean = frames.size() == 2 && frames[0].direction == FrameDirection::tx &&
                       frames[1].direction == FrameDirection::rx;
    if (!open) {
      if (t1 >= warm_until) {
        open = true;
        run.start = t1;
        deadline = t1 + window;
        run.cpu0 = sample_cpu();
        run.devsim0 = run.devsim->loop_cpu_ns();
        run.m0 = master.counters();
      }
    } else {
      ++run.transactions;
      if (is_good(result, a.registers)) ++run.ok;
      else ++run.failed;
      run.cycle.record((t1 - last).count());
      run.transaction.record((t1 - t0).count());
      if (clean) {
        run.turnaround_late.record((frames[1].at - frames[0].at - line_time).count());
        run.gap_late.record((frames[0].at - last_rx - t35).count());
      }
      if (t1 >= deadline) {
        run.end = t1;
        run.cpu1 = sample_cpu();
        run.devsim1 = run.devsim->loop_cpu_ns();
        run.m1 = master.counters();
        run.done = true;
        break;
      }
    }
    last = t1;
    if (!frames.empty()) last_rx = frames.back().at;
  }
  runtime.request_stop();
  co_await ctx.sleep(std::chrono::hours(1));  // the stop cancels this
}

double us(Duration d) { return std::chrono::duration<double, std::micro>(d).count(); }
double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int run_modbus(const ModbusArgs& a) {
  Figures out("modbus");
  out.host();
  Run run;
  run.args = &a;
  run.line = modbus::LineSettings{a.baud, 8, a.parity, 1};
  run.line.validate();
  if (a.registers < 1 || a.registers > 125) throw std::runtime_error("--registers must be 1..125");

  const std::size_t request_bytes = 8;  // unit, function, start, count, CRC
  const std::size_t response_bytes = 5 + 2 * static_cast<std::size_t>(a.registers);  // unit, fn, byte count, data, CRC
  const Duration request_wire = run.line.frame_wire_time(request_bytes);
  const Duration response_wire = run.line.frame_wire_time(response_bytes);
  const Duration t35 = run.line.t3_5();
  const double bound = 1.0 / seconds(request_wire + response_wire + 2 * t35);

  TempDir dir("weft-bench-modbus");
  const std::string link = dir.file("tty");
  std::string cfg = "[service.gather]\n\n[[serial]]\nname = \"bench\"\npath = \"" + link + "\"\nbaud = " +
                    std::to_string(a.baud) + "\nparity = \"" + std::string(1, a.parity) +
                    "\"\n\n[[instrument]]\nname = \"dev\"\nport = \"bench\"\nunit = 1\n";
  for (int r = 0; r < a.registers; ++r)
    cfg += "  [[instrument.point]]\n  name = \"r" + std::to_string(r) + "\"\n  table = \"holding\"\n  address = " +
           std::to_string(r) + "\n  sim = { model = \"ramp\", min = 0, max = 60000, period = \"1m\" }\n";
  const std::string config = dir.write("modbus.toml", cfg);

  DevsimProcess devsim;
  devsim.start(find_devsim(a.devsim), config, "bench", link, /*wire_time=*/true);
  run.devsim = &devsim;

  serial::SerialSettings settings;
  settings.path = link;
  settings.baud = a.baud;
  settings.data_bits = 8;
  settings.parity = a.parity;
  settings.stop_bits = 1;
  auto opened = serial::open_exclusive(settings, dir.path());
  if (!opened) throw std::runtime_error("open " + link + ": " + opened.error().message);
  run.port.emplace(std::move(opened).value());

  weft::logging::set_default_level(*weft::logging::parse_level(a.log_level));
  RuntimeOptions options;
  options.handle_signals = false;
  int status = 0;
  {
    Runtime runtime(options);
    runtime.add(coroutine_service("modbus-master", {}, {}, [&](Context& ctx) { return master_loop(ctx, runtime, run); }));
    runtime.stop_after(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(a.warmup_s + a.seconds + 30)));
    status = runtime.run();
  }
  devsim.stop();
  if (!run.done) throw std::runtime_error("the measurement window did not complete (status " + std::to_string(status) + ")");

  const double window_s = seconds(run.end - run.start);
  const double polls_per_s = static_cast<double>(run.ok) / window_s;
  const double polls = static_cast<double>(run.ok);
  out.count("baud", a.baud);
  out.text("framing", std::string("8") + a.parity + "1");
  out.count("registers", static_cast<std::uint64_t>(a.registers));
  out.count("request_bytes", request_bytes);
  out.count("response_bytes", response_bytes);
  out.num("char_us", us(run.line.character_time()), 1);
  out.num("request_wire_us", us(request_wire), 1);
  out.num("response_wire_us", us(response_wire), 1);
  out.num("t3_5_us", us(t35), 1);
  out.num("window_s", window_s, 3);
  out.num("polls_per_s", polls_per_s, 2);
  out.num("bound_polls_per_s", bound, 2);
  out.num("efficiency", polls_per_s / bound, 3);
  out.num("cycle_mean_us", run.cycle.mean() / 1e3, 1);
  out.num("cycle_p50_us", static_cast<double>(run.cycle.percentile(0.5)) / 1e3, 1);
  out.num("cycle_p99_us", static_cast<double>(run.cycle.percentile(0.99)) / 1e3, 1);
  out.num("cycle_max_us", static_cast<double>(run.cycle.max()) / 1e3, 1);
  out.num("overhead_per_cycle_us", run.cycle.mean() / 1e3 - us(request_wire + response_wire + 2 * t35), 1);
  out.num("transaction_p50_us", static_cast<double>(run.transaction.percentile(0.5)) / 1e3, 1);
  out.num("turnaround_late_p50_us", static_cast<double>(run.turnaround_late.percentile(0.5)) / 1e3, 1);
  out.num("turnaround_late_mean_us", run.turnaround_late.mean() / 1e3, 1);
  out.num("turnaround_late_p99_us", static_cast<double>(run.turnaround_late.percentile(0.99)) / 1e3, 1);
  out.num("gap_late_p50_us", static_cast<double>(run.gap_late.percentile(0.5)) / 1e3, 1);
  out.num("gap_late_mean_us", run.gap_late.mean() / 1e3, 1);
  out.num("gap_late_p99_us", static_cast<double>(run.gap_late.percentile(0.99)) / 1e3, 1);
  out.count("transactions", run.transactions);
  out.count("ok", run.ok);
  out.count("failed", run.failed);
  out.count("timeouts", run.m1.timeouts - run.m0.timeouts);
  out.count("crc_errors", run.m1.crc_errors - run.m0.crc_errors);
  out.count("other_errors", run.m1.other_errors - run.m0.other_errors);
  out.count("line_busy", run.m1.line_busy - run.m0.line_busy);
  out.count("retries", run.m1.retries - run.m0.retries);
  out.num("master_process_cpu_us_per_poll", static_cast<double>(run.cpu1.process_ns - run.cpu0.process_ns) / 1e3 / polls, 1);
  out.num("master_loop_cpu_us_per_poll", static_cast<double>(run.cpu1.thread_ns - run.cpu0.thread_ns) / 1e3 / polls, 1);
  out.num("devsim_loop_cpu_us_per_poll",
          run.devsim0 < 0 || run.devsim1 < 0 ? NAN : static_cast<double>(run.devsim1 - run.devsim0) / 1e3 / polls, 1);
  out.num("master_involuntary_switches_per_poll",
          static_cast<double>(run.cpu1.involuntary_switches - run.cpu0.involuntary_switches) / polls, 3);
  out.host();
  return 0;  // failed polls are figures, not a failure of the benchmark
}

}  // namespace weft::bench
