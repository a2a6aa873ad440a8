// weft-bench: command-line dispatch. `services` runs every measurement of
// the weft and bare-Asio workloads in fresh child processes (this binary,
// hidden subcommand `services-child`), so no run inherits another's heap,
// then prints one greppable line of figures per implementation. `modbus`,
// `simulate` and `gather` (benches.hpp) run in this process and print one
// "<bench> key=value" line per figure.
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include "weft/core/log.hpp"
#include "weft/core/ticker.hpp"
#include "bench_support.hpp"
#include "callgrind_count.hpp"
#include "benches.hpp"
#include "workload.hpp"

namespace {

// Every subcommand takes the weft log level of its runs.
void add_log_level(CLI::App& cmd, std::string& level) {
  cmd.add_option("--log-level", level, "weft log level in the runs")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

using namespace weft::bench;
using weft::Duration;

struct Args {
  std::size_t count = 1000;
  double period_ms = 10;
  double seconds = 10;
  std::optional<double> slack_us;
  double warmup_s = 1;
  std::string log_level = "warn";
  bool no_rss = false;
  bool instructions = false;
  // services-child only
  std::string impl = "weft";
  std::string mode = "timing";
};

Duration from_ms(double ms) { return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms)); }

std::string fmt(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::vector<std::string> child_args(const Args& a, const std::string& impl, const std::string& mode, std::size_t count) {
  std::vector<std::string> v{"services-child", "--impl",      impl,          "--mode",          mode,
                             "--count",        std::to_string(count),        "--period-ms",     num(a.period_ms),
                             "--seconds",      num(a.seconds), "--warmup-s", num(a.warmup_s),   "--log-level",
                             a.log_level};
  if (a.slack_us) {
    v.push_back("--slack-us");
    v.push_back(num(*a.slack_us));
  }
  return v;
}

struct Figures {
  ChildResult timing;
  std::size_t n_small = 0, n_large = 0;
  double rss_small = NAN, rss_large = NAN, heap_small = NAN, heap_large = NAN;
  double startup_large_ms = NAN;  // creating the services until all have ticked
  double add_large_ms = NAN;      // of which Runtime::add (weft only)

  double rss_slope_kib() const { return (rss_large - rss_small) / static_cast<double>(n_large - n_small); }
  double heap_slope_bytes() const { return (heap_large - heap_small) / static_cast<double>(n_large - n_small); }
  double cpu_us_per_wakeup() const { return number(timing, "cpu_ns") / 1e3 / number(timing, "wakeups"); }
};

Figures measure(const Args& a, const std::string& impl) {
  Figures f;
  std::fprintf(stderr, "weft-bench: %s: timing run, %zu services, %g s warm-up + %g s window\n", impl.c_str(),
               a.count, a.warmup_s, a.seconds);
  f.timing = run_self(child_args(a, impl, "timing", a.count));
  f.n_large = a.count;
  f.n_small = a.count / 10;
  if (!a.no_rss && f.n_large > f.n_small) {
    std::fprintf(stderr, "weft-bench: %s: rss runs, %zu and %zu services\n", impl.c_str(), f.n_small, f.n_large);
    // For N < 10 the small run has zero services: the slope from an empty runtime.
    const ChildResult small = run_self(child_args(a, impl, "rss", f.n_small));
    f.rss_small = number(small, "rss_kib");
    f.heap_small = number(small, "heap_bytes");
    const ChildResult large = run_self(child_args(a, impl, "rss", f.n_large));
    f.rss_large = number(large, "rss_kib");
    f.heap_large = number(large, "heap_bytes");
    f.startup_large_ms = number(large, "startup_ns") / 1e6;
    if (large.contains("add_ns")) f.add_large_ms = number(large, "add_ns") / 1e6;
  }
  return f;
}

void print(const Args& a, const std::string& impl, const Figures& f) {
  const ChildResult& t = f.timing;
  const double wakeups = number(t, "wakeups");
  const char* pad = impl == "weft" ? "weft " : "bare ";
  std::string head = std::string(pad) + " services=" + std::to_string(a.count) + " period_ms=" + num(a.period_ms);
  if (impl == "weft") head += " slack_us=" + num(number(t, "slack_ns") / 1e3);
  std::printf("%s window_s=%s rss_per_service_kib=%s cpu_us_per_wakeup=%s lateness_us p50=%s p99=%s max=%s "
              "wakeups=%.0f\n",
              head.c_str(), fmt(number(t, "window_ns") / 1e9, 3).c_str(),
              fmt(f.n_large > f.n_small ? f.rss_slope_kib() : NAN, 3).c_str(), fmt(f.cpu_us_per_wakeup(), 3).c_str(),
              fmt(number(t, "lat_p50_ns") / 1e3, 1).c_str(), fmt(number(t, "lat_p99_ns") / 1e3, 1).c_str(),
              fmt(number(t, "lat_max_ns") / 1e3, 1).c_str(), wakeups);
  if (impl == "weft") {
    const double arms = number(t, "kernel_arms"), expiries = number(t, "expiries"), wakes = number(t, "wakes");
    std::printf("weft  timer_queue kernel_arms=%.0f expiries=%.0f wakes=%.0f wakes_per_expiry=%s "
                "kernel_arms_per_wakeup=%s\n",
                arms, expiries, wakes, fmt(expiries > 0 ? wakes / expiries : NAN, 2).c_str(),
                fmt(wakes > 0 ? arms / wakes : NAN, 3).c_str());
  }
  const double window_ns = number(t, "window_ns");
  std::printf("%s detail cpu_pct=%s user_us=%.0f sys_us=%.0f loop_thread_us_per_wakeup=%s voluntary_switches=%.0f "
              "involuntary_switches=%.0f missed=%.0f lat_p999_us=%s lat_mean_us=%s lat_negative=%.0f "
              "rss_kib n%zu=%s n%zu=%s heap_per_service_b=%s startup_ms_n%zu=%s add_ms_n%zu=%s\n",
              pad, fmt(100.0 * number(t, "cpu_ns") / window_ns, 2).c_str(), number(t, "user_us"),
              number(t, "sys_us"), fmt(number(t, "loop_thread_ns") / 1e3 / wakeups, 3).c_str(),
              number(t, "voluntary_switches"), number(t, "involuntary_switches"), number(t, "missed"),
              fmt(number(t, "lat_p999_ns") / 1e3, 1).c_str(), fmt(number(t, "lat_mean_ns") / 1e3, 1).c_str(),
              number(t, "lat_negative"), f.n_small, fmt(f.rss_small, 0).c_str(), f.n_large,
              fmt(f.rss_large, 0).c_str(), fmt(f.n_large > f.n_small ? f.heap_slope_bytes() : NAN, 0).c_str(),
              f.n_large, fmt(f.startup_large_ms, 1).c_str(), f.n_large, fmt(f.add_large_ms, 1).c_str());
  std::fflush(stdout);
}

// Other load on the machine inflates CPU per wakeup and lateness: say what it was.
void print_host() {
  double load[3] = {NAN, NAN, NAN};
  if (::getloadavg(load, 3) < 0) load[0] = NAN;
  std::printf("host  cpus=%ld loadavg_1m=%s\n", ::sysconf(_SC_NPROCESSORS_ONLN), fmt(load[0], 2).c_str());
}

// User-space instructions per wakeup under callgrind, counted inside the
// measurement window only (workload.hpp dumps the stats at its end).
double instructions_per_wakeup(const Args& a, const std::string& impl) {
  std::fprintf(stderr, "weft-bench: %s: under callgrind, %zu services, %g s window\n", impl.c_str(), a.count,
               a.seconds);
  const CallgrindCount run = run_self_under_callgrind(child_args(a, impl, "timing", a.count));
  const double wakeups = number(run.result, "wakeups");
  const double missed = number(run.result, "missed");
  const double per_wakeup = run.window_instructions / wakeups;
  // How many waiters one trip through the kernel served: a slow or crowded
  // run batches more, which lowers the per-wakeup figure, so it is printed beside it.
  const double sleeps = number(run.result, "voluntary_switches");
  const char* pad = impl == "weft" ? "weft " : "bare ";
  std::printf("%s instructions_per_wakeup=%s wakeups=%.0f missed=%.0f wakeups_per_sleep=%s\n", pad,
              fmt(per_wakeup, 0).c_str(), wakeups, missed, fmt(sleeps > 0 ? wakeups / sleeps : NAN, 2).c_str());
  // Under valgrind the loop runs ~50x slower: a workload it cannot keep up
  // with measures the catch-up path (missed ticks), not the steady one.
  if (missed > 0.01 * wakeups)
    std::printf("%s warning: %.0f ticks missed under valgrind: use fewer services or a longer period\n", pad, missed);
  std::fflush(stdout);
  return per_wakeup;
}

int services_instructions(const Args& a) {
  print_host();
  const double weft = instructions_per_wakeup(a, "weft");
  const double bare = instructions_per_wakeup(a, "bare");
  std::printf("ratio weft/bare instructions: %s\n", fmt(weft / bare, 3).c_str());
  return 0;
}

int services(const Args& a) {
  if (a.instructions) return services_instructions(a);
  print_host();
  const Figures weft = measure(a, "weft");
  print(a, "weft", weft);
  const Figures bare = measure(a, "bare");
  print(a, "bare", bare);
  std::printf("ratio weft/bare: %s\n", fmt(weft.cpu_us_per_wakeup() / bare.cpu_us_per_wakeup(), 3).c_str());
  print_host();
  return 0;
}

int services_child(const Args& a) {
  Workload w;
  w.count = a.count;
  w.period = from_ms(a.period_ms);
  if (a.slack_us) w.slack = std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::micro>(*a.slack_us));
  w.warmup = from_ms(a.warmup_s * 1e3);
  w.window = from_ms(a.seconds * 1e3);
  w.mode = a.mode == "rss" ? Mode::rss : Mode::timing;
  if (a.impl == "bare") return run_bare_child(w);
  weft::logging::set_default_level(*weft::logging::parse_level(a.log_level));
  return run_weft_child(w);
}

void add_workload_options(CLI::App& cmd, Args& a, bool allow_zero = false) {
  cmd.add_option("--count", a.count, "number of services")
      ->check(allow_zero ? CLI::Validator(CLI::NonNegativeNumber) : CLI::Validator(CLI::PositiveNumber));
  cmd.add_option("--period-ms", a.period_ms, "ticker period, ms")->check(CLI::PositiveNumber);
  cmd.add_option("--seconds", a.seconds, "length of the measurement window, s")->check(CLI::PositiveNumber);
  cmd.add_option("--slack-us", a.slack_us, "weft ticker slack, us (default: the runtime's, 1 % capped at 5 ms)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--warmup-s", a.warmup_s, "warm-up before the window opens, s")->check(CLI::NonNegativeNumber);
  add_log_level(cmd, a.log_level);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-bench: weft runtime benchmarks"};
  app.require_subcommand(1);
  Args a;

  CLI::App* svc = app.add_subcommand(
      "services",
      "N periodic services on weft vs. bare Asio: CPU per wakeup, lateness, RSS per service (each in a fresh process)");
  add_workload_options(*svc, a);
  svc->add_flag("--no-rss", a.no_rss, "skip the RSS runs");
  svc->add_flag("--instructions", a.instructions,
                "instead: user-space instructions per wakeup under callgrind (needs valgrind), weft and bare Asio in "
                "the same run; valgrind is ~50x slower, so e.g. --count 100 --period-ms 100 --seconds 2");

  CLI::App* child = app.add_subcommand("services-child", "one measurement in this process (used by `services`)");
  child->group("");  // hidden
  add_workload_options(*child, a, true);
  child->add_option("--impl", a.impl)->check(CLI::IsMember({"weft", "bare"}));
  child->add_option("--mode", a.mode)->check(CLI::IsMember({"timing", "rss"}));

  // Device-side benchmarks (benches.hpp), each in this process.
  ModbusArgs mb;
  std::string mb_parity = "E";
  CLI::App* modbus_cmd = app.add_subcommand(
      "modbus", "Modbus RTU polls/s on a pty against weft-devsim --wire-time, vs. the line's wire-time bound");
  modbus_cmd->add_option("--baud", mb.baud, "line speed")->check(CLI::PositiveNumber);
  modbus_cmd->add_option("--parity", mb_parity, "E (8E1) or N (8N1)")->check(CLI::IsMember({"E", "N"}));
  modbus_cmd->add_option("--registers", mb.registers, "holding registers per read (1..125)")->check(CLI::Range(1, 125));
  modbus_cmd->add_option("--seconds", mb.seconds, "length of the measurement window, s")->check(CLI::PositiveNumber);
  modbus_cmd->add_option("--warmup-s", mb.warmup_s, "warm-up before the window opens, s")->check(CLI::NonNegativeNumber);
  modbus_cmd->add_option("--devsim", mb.devsim, "weft-devsim executable (default: next to weft-bench)");
  add_log_level(*modbus_cmd, mb.log_level);

  SimulateArgs sim;
  CLI::App* sim_cmd = app.add_subcommand(
      "simulate", "gather on the virtual clock: instrument-hours simulated per wall second");
  sim_cmd->add_option("--instruments", sim.instruments, "simulated instruments")->check(CLI::PositiveNumber);
  sim_cmd->add_option("--ports", sim.ports, "serial ports they are spread over")->check(CLI::PositiveNumber);
  sim_cmd->add_option("--points", sim.points, "points per instrument (float32/uint16 alternating)")
      ->check(CLI::PositiveNumber);
  sim_cmd->add_option("--period-ms", sim.period_ms, "poll period of every instrument, ms")->check(CLI::PositiveNumber);
  sim_cmd->add_option("--hours", sim.hours, "simulated hours")->check(CLI::PositiveNumber);
  add_log_level(*sim_cmd, sim.log_level);

  GatherArgs ga;
  CLI::App* gather_cmd = app.add_subcommand(
      "gather", "gather on the real clock: loop CPU per published reading at a steady reading rate");
  gather_cmd->add_option("--readings-per-s", ga.readings_per_s, "target readings per second (sets the instruments)")
      ->check(CLI::PositiveNumber);
  gather_cmd->add_option("--points", ga.points, "points per instrument (float32/uint16 alternating)")
      ->check(CLI::PositiveNumber);
  gather_cmd->add_option("--period-ms", ga.period_ms, "poll period of every instrument, ms")->check(CLI::PositiveNumber);
  gather_cmd->add_option("--ports", ga.ports, "serial ports the instruments are spread over")->check(CLI::PositiveNumber);
  gather_cmd->add_option("--seconds", ga.seconds, "length of the measurement window, s")->check(CLI::PositiveNumber);
  gather_cmd->add_option("--warmup-s", ga.warmup_s, "warm-up before the window opens, s")->check(CLI::NonNegativeNumber);
  gather_cmd->add_option("--devices", ga.devices, "sim: simulated devices inside gather; pty: weft-devsim processes")
      ->check(CLI::IsMember({"sim", "pty"}));
  gather_cmd->add_option("--devsim", ga.devsim, "weft-devsim executable for --devices pty (default: next to weft-bench)");
  add_log_level(*gather_cmd, ga.log_level);

  UploadArgs ua;
  CLI::App* upload_cmd = app.add_subcommand(
      "upload", "backlog drain rate of the upload service into a local mosquitto, and its longest loop slice");
  upload_cmd->add_option("--rows", ua.rows, "readings in the store before the upload starts")->check(CLI::PositiveNumber);
  upload_cmd->add_option("--batch-rows", ua.batch_rows, "readings per message")->check(CLI::Range(1, 100000));
  upload_cmd->add_option("--max-in-flight", ua.max_in_flight, "batches without PUBACK")->check(CLI::Range(2, 1000));
  upload_cmd->add_option("--backlog-rate", ua.backlog_rate, "backlog rows/s limit")->check(CLI::PositiveNumber);
  upload_cmd->add_option("--timeout-s", ua.timeout_s, "give up after this long")->check(CLI::PositiveNumber);
  add_log_level(*upload_cmd, ua.log_level);

  ConsoleArgs ca;
  CLI::App* console_cmd = app.add_subcommand(
      "console", "console round trip of `services` with many services; loop lag with many clients tailing the log");
  console_cmd->add_option("--services", ca.services, "idle services besides the console")->check(CLI::NonNegativeNumber);
  console_cmd->add_option("--requests", ca.requests, "`services` round trips measured")->check(CLI::PositiveNumber);
  console_cmd->add_option("--clients", ca.clients, "clients tailing the log")->check(CLI::NonNegativeNumber);
  console_cmd->add_option("--log-lines-per-s", ca.log_lines_per_s, "lines the chatter service logs")->check(CLI::PositiveNumber);
  console_cmd->add_option("--seconds", ca.seconds, "each loop-lag window, s")->check(CLI::PositiveNumber);

  StoreArgs sa;
  CLI::App* store_cmd = app.add_subcommand(
      "store", "SQLite store: rows/s, commit latency p50/p99, bytes written per reading (synchronous normal, full)");
  store_cmd->add_option("--rate", sa.rate, "steady run: readings/s")->check(CLI::PositiveNumber);
  store_cmd->add_option("--seconds", sa.seconds, "steady run: length, s")->check(CLI::PositiveNumber);
  store_cmd->add_option("--throughput-rows", sa.throughput_rows, "throughput run: readings")->check(CLI::PositiveNumber);
  store_cmd->add_option("--batch-rows", sa.batch_rows, "rows per transaction")->check(CLI::Range(1, 100000));
  store_cmd->add_option("--batch-age-ms", sa.batch_age_ms, "oldest reading's age that commits a batch, ms")
      ->check(CLI::PositiveNumber);
  store_cmd->add_option("--synchronous", sa.synchronous, "normal, full or both")
      ->check(CLI::IsMember({"normal", "full", "both"}));
  store_cmd->add_option("--dir", sa.dir, "directory for the database (a real disk: /tmp may be tmpfs)");
  add_log_level(*store_cmd, sa.log_level);

  ReloadArgs ra;
  CLI::App* reload_cmd = app.add_subcommand(
      "reload", "a real weftd: SIGHUP to applied for a one-instrument change (median/p95/max of --repeats), gather's "
                "own start, and a 10 ms ticker's lateness idle vs during the reloads");
  reload_cmd->add_option("--instruments", ra.instruments, "gather's Modbus instruments")->check(CLI::PositiveNumber);
  reload_cmd->add_option("--ports", ra.ports, "ptys (weft-devsim processes) they are spread over")->check(CLI::PositiveNumber);
  reload_cmd->add_option("--points", ra.points, "points per instrument")->check(CLI::PositiveNumber);
  reload_cmd->add_option("--period-ms", ra.period_ms, "poll period of every instrument, ms")->check(CLI::PositiveNumber);
  reload_cmd->add_option("--repeats", ra.repeats, "reloads measured")->check(CLI::PositiveNumber);
  reload_cmd->add_option("--settle-ms", ra.settle_ms, "[weftd] reload_settle, ms")->check(CLI::NonNegativeNumber);
  reload_cmd->add_option("--ticker-ms", ra.ticker_ms, "heartbeat's period, ms")->check(CLI::PositiveNumber);
  reload_cmd->add_option("--warmup-s", ra.warmup_s, "after every service is ready, s")->check(CLI::NonNegativeNumber);
  reload_cmd->add_option("--idle-s", ra.idle_s, "idle lateness window before the reloads, s")->check(CLI::PositiveNumber);
  reload_cmd->add_option("--pause-s", ra.pause_s, "pause between reloads, s")->check(CLI::NonNegativeNumber);
  reload_cmd->add_option("--weftd", ra.weftd, "weftd executable (default: in the build tree beside weft-bench)");
  reload_cmd->add_option("--devsim", ra.devsim, "weft-devsim executable (default: beside weft-bench)");
  reload_cmd->add_flag("--realtime", ra.realtime, kRealtimeHelp);
  add_log_level(*reload_cmd, ra.log_level);

  CaArgs caa;
  CLI::App* ca_cmd = app.add_subcommand(
      "ca", "a real weftd's Channel Access server: monitor updates/s delivered to --clients circuits each monitoring "
            "--points points at --rate-hz, loop CPU per update, 10 ms ticker lateness; RSS per circuit and per "
            "channel; --searches for unknown names vs the console's round trip");
  ca_cmd->add_option("--points", caa.points, "gather's points (float32 ramps), a multiple of 10")->check(CLI::PositiveNumber);
  ca_cmd->add_option("--rate-hz", caa.rate_hz, "poll rate of every instrument (10 points each)")->check(CLI::PositiveNumber);
  ca_cmd->add_option("--ports", caa.ports, "ptys (weft-devsim processes) the instruments are spread over")
      ->check(CLI::PositiveNumber);
  ca_cmd->add_option("--clients", caa.clients, "CA circuits, each monitoring every point")->check(CLI::PositiveNumber);
  ca_cmd->add_option("--warmup-s", caa.warmup_s, "warm-up before the idle and the fan-out windows, s")
      ->check(CLI::NonNegativeNumber);
  ca_cmd->add_option("--idle-s", caa.idle_s, "the window with points and no client, s")->check(CLI::PositiveNumber);
  ca_cmd->add_option("--seconds", caa.seconds, "the fan-out window, s")->check(CLI::PositiveNumber);
  ca_cmd->add_option("--searches", caa.searches, "SEARCHes for unknown names")->check(CLI::PositiveNumber);
  ca_cmd->add_option("--search-s", caa.search_s, "spread over this long, s")->check(CLI::PositiveNumber);
  ca_cmd->add_option("--ticker-ms", caa.ticker_ms, "heartbeat's period, ms")->check(CLI::PositiveNumber);
  ca_cmd->add_option("--weftd", caa.weftd, "weftd executable (default: in the build tree beside weft-bench)");
  ca_cmd->add_option("--devsim", caa.devsim, "weft-devsim executable (default: beside weft-bench)");
  ca_cmd->add_flag("--realtime", caa.realtime, kRealtimeHelp);
  add_log_level(*ca_cmd, caa.log_level);

  StartArgs sta;
  CLI::App* start_cmd = app.add_subcommand(
      "start", "cold start: fork + exec to READY=1 on a NOTIFY_SOCKET (median/p90/max of --runs) for a program that "
               "sends it at once (the floor), a one-heartbeat weftd and the demo box (examples/demo.toml, weft-devsim "
               "on a pty); first boot (empty data dir) and second start (existing store)");
  start_cmd->add_option("--runs", sta.runs, "starts of each program (each a first boot, then a second start)")
      ->check(CLI::PositiveNumber);
  start_cmd->add_option("--dir", sta.dir, "directory for the data dirs (the box's disk: fsyncs cost what it costs)");
  start_cmd->add_option("--weftd", sta.weftd, "weftd executable (default: in the build tree beside weft-bench)");
  start_cmd->add_option("--devsim", sta.devsim, "weft-devsim executable (default: beside weft-bench)");
  start_cmd->add_option("--floor", sta.floor, "the READY=1-at-once program (default: weft-bench-ready beside weft-bench)");
  start_cmd->add_option("--demo-config", sta.demo_config, "the demo config (default: examples/demo.toml of the source tree)");

  FootprintArgs fa;
  CLI::App* footprint_cmd = app.add_subcommand(
      "footprint", "stripped size of weftd; the demo box's VmRSS, RssAnon, RssFile, private dirty and threads after "
                   "--seconds (weftd on examples/demo.toml against weft-devsim on a pty), beside a C program's");
  footprint_cmd->add_option("--seconds", fa.seconds, "how long the box runs after every service is ready, s")
      ->check(CLI::PositiveNumber);
  footprint_cmd->add_option("--demo-config", fa.demo_config, "the demo config (its /tmp/weft-demo paths are moved)");
  footprint_cmd->add_flag("--size-only", fa.size_only, "only the stripped size, no box run");
  footprint_cmd->add_option("--weftd", fa.weftd, "weftd executable (default: in the build tree beside weft-bench)");
  footprint_cmd->add_option("--devsim", fa.devsim, "weft-devsim executable (default: beside weft-bench)");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*child) return services_child(a);
    if (*modbus_cmd) {
      mb.parity = mb_parity[0];
      return run_modbus(mb);
    }
    if (*sim_cmd) return run_simulate(sim);
    if (*gather_cmd) return run_gather(ga);
    if (*store_cmd) return run_store(sa);
    if (*console_cmd) return run_console(ca);
    if (*upload_cmd) return run_upload(ua);
    if (*reload_cmd) return run_reload(ra);
    if (*ca_cmd) return run_ca(caa);
    if (*start_cmd) return run_start(sta);
    if (*footprint_cmd) return run_footprint(fa);
    return services(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-bench: %s\n", e.what());
    return 1;
  }
}
