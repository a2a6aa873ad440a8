// `weft-bench reload`: the live reload of a real weftd, the same way every
// run. A weftd process (the built binary) runs a generated box: gather
// polling `--instruments` Modbus instruments on `--ports` ptys served by
// weft-devsim processes, record into a [store], a heartbeat on a 10 ms
// ticker and the console; `[weftd] reload_settle` is `--settle-ms`. Then,
// `--repeats` times: one instrument's period is changed in the file
// (temp + rename, as an editor writes), SIGHUP is sent, and the end is the
// config history being replaced with that reload's outcome in it.
//
// Why that end: SIGHUP has no waiter, so the outcome is seen from outside.
// The history file is written (atomic replace, fsync) after the outcome is
// logged and before any waiter (`weftctl reload`) hears of it, so the
// moment it is renamed into place, seen by inotify (no polling, no load on
// weftd's loop), is when a caller could first know the reload applied.
// Afterwards `reload status ID` over the console gives weftd's own figures
// for that transaction: took_us (its monotonic clock, transaction start to
// outcome) and each touched service's start_us (its start to ready); the
// reload must be "applied" and must have restarted gather alone.
//
//   sighup_to_recorded_ms  bench clock, kill() to the history rename seen
//   took_ms                weftd's: the whole transaction (includes the settle)
//   gather_start_ms        weftd's: gather's own start (start to ready)
//   overhead_ms            took - settle - gather_start: what the reload adds
//
// Ticker lateness: heartbeat publishes how late its own 10 ms tick fired
// beyond the ticker's slack window (`<prefix>.loop_lag_us`, the runtime's
// own figure, clamped at 0) every tick, and record stores each reading with
// its monotonic time. After weftd stops, the store is read: samples inside
// an idle window before the reloads vs samples inside the reload windows
// (SIGHUP to recorded). CLOCK_MONOTONIC is one clock for both processes.
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "benches.hpp"
#include "measure.hpp"
#include "stored_readings.hpp"
#include "weftd_process.hpp"
#include "weft/apps/reload/reload_history.hpp"

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t mono_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Watches `dir` for the config history being renamed into place.
class HistoryWatch {
public:
  explicit HistoryWatch(const std::string& dir) : dir_(dir) {
    fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd_ < 0 || ::inotify_add_watch(fd_, dir.c_str(), IN_MOVED_TO) < 0)
      throw std::runtime_error("inotify on " + dir + ": " + std::strerror(errno));
  }
  ~HistoryWatch() { ::close(fd_); }
  HistoryWatch(const HistoryWatch&) = delete;
  HistoryWatch& operator=(const HistoryWatch&) = delete;

  // The time the history was first replaced with the outcome of `id` in it.
  // The transaction's start replaces it too: with `id` reserved as
  // `interrupted` (the line a stop or crash would leave), not an outcome.
  Clock::time_point wait_recorded(std::uint64_t id, Clock::time_point give_up) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now()).count();
      if (left <= 0) throw std::runtime_error("reload " + std::to_string(id) + ": no outcome in the history in time");
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000))) <= 0) continue;
      const Clock::time_point seen = Clock::now();
      alignas(inotify_event) char buf[4096];
      bool ours = false;
      for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) > 0;)
        for (ssize_t off = 0; off < n;) {
          const auto* e = reinterpret_cast<const inotify_event*>(buf + off);
          if (e->len > 0 && std::string_view(e->name) == apps::kReloadHistoryFile) ours = true;
          off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        }
      if (!ours) continue;
      const apps::ReloadHistory h = apps::load_reload_history(dir_, apps::HistoryDamage::leave);
      for (const auto& o : h.entries)
        if (o.id == id && o.result != apps::ReloadResult::interrupted) return seen;
    }
  }

private:
  std::string dir_;
  int fd_ = -1;
};

// What one reload's `--json reload status ID` says (the console's JSON,
// whose member order is fixed by console_commands_reload.cpp).
struct Outcome {
  std::string result;
  double took_ms = NAN;
  std::vector<std::pair<std::string, double>> steps;  // "restart gather" -> start ms
};

std::string json_string_after(const std::string& json, const std::string& key, std::size_t from = 0) {
  const std::string head = "\"" + key + "\":\"";
  const auto at = json.find(head, from);
  if (at == std::string::npos) return {};
  const auto begin = at + head.size();
  return json.substr(begin, json.find('"', begin) - begin);
}

double json_number_after(const std::string& json, const std::string& key, std::size_t from = 0) {
  const std::string head = "\"" + key + "\":";
  const auto at = json.find(head, from);
  if (at == std::string::npos) return NAN;
  return std::strtod(json.c_str() + at + head.size(), nullptr);
}

Outcome parse_outcome(const std::string& json) {
  Outcome o;
  o.result = json_string_after(json, "result");
  o.took_ms = json_number_after(json, "took_us") / 1e3;
  const auto services = json.find("\"services\":[");
  for (auto at = json.find("{\"service\":", services); services != std::string::npos && at != std::string::npos;
       at = json.find("{\"service\":", at + 1)) {
    const std::string name = json_string_after(json, "service", at);
    const std::string action = json_string_after(json, "action", at);
    o.steps.emplace_back(action + " " + name, json_number_after(json, "start_us", at) / 1e3);
  }
  return o;
}

struct Spread {
  double median = NAN, p95 = NAN, max = NAN;
};

// Nearest rank: of 20 values, p95 is the 19th.
Spread spread(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  const std::size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {median, rank(0.95), v.back()};
}

void print_spread(const Figures& fig, const std::string& key, const std::vector<double>& v) {
  const Spread s = spread(v);
  fig.num(key + "_median", s.median, 2);
  fig.num(key + "_p95", s.p95, 2);
  fig.num(key + "_max", s.max, 2);
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0)
    throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
}

std::string duration_ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lldus", static_cast<long long>(std::llround(ms * 1000)));
  return buf;
}

// The box's config: gather's generated tables plus the other services.
std::string box_config(const std::string& gather_text, const ReloadArgs& a, const TempDir& dir) {
  std::string t = gather_text;
  const std::string weftd_head = "[weftd]\n";
  const std::string extra = "data_dir = \"" + dir.file("data") + "\"\nreload_settle = \"" +
                            duration_ms_text(a.settle_ms) + "\"\nstop_grace = \"5s\"\n";
  t.insert(t.find(weftd_head) + weftd_head.size(), extra);
  t += "\n[store]\npath = \"" + dir.file("data/readings.db") + "\"\nbatch_age = \"50ms\"\n";
  t += "\n[service.record]\n";
  t += "\n[service.heartbeat]\nperiod = \"" + duration_ms_text(a.ticker_ms) + "\"\nprefix = \"hb\"\n";
  t += "\n[service.console]\nsocket = \"" + dir.file("weftd.sock") + "\"\n";
  // The loop ahead of the pool's prepare (parse, validate, plan, assemble)
  // and of the store's threads: on 2 cores the loop otherwise waits for a
  // core behind them (README: the reload row).
  if (a.realtime) t += kRealtimeTable;
  return t;
}

// The same with instrument i0's period `period_ms`.
std::string with_i0_period(const std::string& text, double period_ms) {
  const auto at = text.find("name = \"i0\"\n");
  const auto key = text.find("period = \"", at);
  const auto end = text.find('"', key + 10);
  if (at == std::string::npos || key == std::string::npos) throw std::runtime_error("generated config has no i0");
  return text.substr(0, key + 10) + duration_ms_text(period_ms) + text.substr(end);
}

}  // namespace

int run_reload(const ReloadArgs& a) {
  TempDir dir("weft-reload-bench");
  std::filesystem::create_directories(dir.file("data"));
  std::filesystem::create_directories(dir.file("lock"));
  GatherShape shape;
  shape.ports = a.ports;
  shape.instruments = a.instruments;
  shape.points = a.points;
  shape.period_ms = a.period_ms;
  shape.log_level = a.log_level;
  shape.port_dir = dir.path();
  shape.lock_dir = dir.file("lock");
  const std::string gather_text = gather_config_text(shape);
  const std::string sim_config = dir.write("sim.toml", gather_text);
  const std::string config_a = box_config(gather_text, a, dir);
  const std::string config_b = with_i0_period(config_a, a.period_ms * 2);
  const std::string config = dir.write("weftd.toml", config_a);
  const std::string log = dir.file("weftd.log");
  constexpr std::size_t kServices = 4;  // gather, record, heartbeat, console

  Figures fig("reload");
  fig.host();
  std::vector<std::unique_ptr<DevsimProcess>> devsims;
  const std::string devsim = find_devsim(a.devsim);
  for (int k = 0; k < shape.ports; ++k) {
    devsims.push_back(std::make_unique<DevsimProcess>());
    devsims.back()->start(devsim, sim_config, port_name(k), port_path(shape, k), /*wire_time=*/false);
  }
  HistoryWatch watch(dir.file("data"));
  WeftdProcess weftd(find_weftd(a.weftd), config, log);
  std::fprintf(stderr, "weft-bench: reload: weftd pid %d on %s (log %s)\n", weftd.pid(), config.c_str(), log.c_str());

  std::vector<double> recorded_ms, took_ms, start_ms, overhead_ms;
  std::vector<std::pair<std::int64_t, std::int64_t>> windows;  // mono ns, SIGHUP to recorded
  std::int64_t idle_from = 0, idle_to = 0;
  std::string problem;
  try {
    ConsoleClient console(dir.file("weftd.sock"));
    wait_all_ready(console, weftd, kServices);
    std::this_thread::sleep_for(std::chrono::duration<double>(a.warmup_s));
    idle_from = mono_ns(Clock::now());
    std::this_thread::sleep_for(std::chrono::duration<double>(a.idle_s));
    idle_to = mono_ns(Clock::now());

    for (int i = 1; i <= a.repeats; ++i) {
      write_atomically(config, i % 2 ? config_b : config_a);
      const auto sent = Clock::now();
      if (::kill(weftd.pid(), SIGHUP) != 0) throw std::runtime_error(std::string("kill: ") + std::strerror(errno));
      const auto recorded = watch.wait_recorded(static_cast<std::uint64_t>(i), sent + std::chrono::seconds(60));
      windows.emplace_back(mono_ns(sent), mono_ns(recorded));
      const console::Frame f = console.request("--json reload status " + std::to_string(i));
      const Outcome o = parse_outcome(f.payload);
      if (o.result != "applied" || o.steps.size() != 1 || o.steps[0].first != "restart gather")
        throw std::runtime_error("reload " + std::to_string(i) + " did not apply as a restart of gather alone: " +
                                 f.payload);
      recorded_ms.push_back(std::chrono::duration<double, std::milli>(recorded - sent).count());
      took_ms.push_back(o.took_ms);
      start_ms.push_back(o.steps[0].second);
      overhead_ms.push_back(o.took_ms - a.settle_ms - o.steps[0].second);
      std::this_thread::sleep_for(std::chrono::duration<double>(a.pause_s));  // reloads never overlap
    }
  } catch (const std::exception& e) {
    problem = e.what();
  }
  const int status = weftd.stop();
  for (auto& d : devsims) d->stop();
  if (!problem.empty()) {
    print_log("reload: " + problem, log);
    return 1;
  }

  fig.count("services", kServices);
  fig.count("instruments", static_cast<std::uint64_t>(a.instruments));
  fig.count("repeats", static_cast<std::uint64_t>(a.repeats));
  fig.num("settle_ms", a.settle_ms, 1);
  fig.count("realtime", a.realtime ? 1 : 0);
  print_spread(fig, "sighup_to_recorded_ms", recorded_ms);
  print_spread(fig, "took_ms", took_ms);
  print_spread(fig, "gather_start_ms", start_ms);
  print_spread(fig, "overhead_ms", overhead_ms);

  // Ticker lateness: idle window vs the reload windows.
  LatencyHistogram idle, during;
  for (const auto& [t, lag_us] : stored_readings(dir.file("data/readings.db"), "hb.loop_lag_us")) {
    const auto ns = static_cast<std::int64_t>(lag_us * 1e3);
    if (t >= idle_from && t < idle_to) {
      idle.record(ns);
      continue;
    }
    const bool in_reload = std::any_of(windows.begin(), windows.end(), [t = t](const auto& w) { return t >= w.first && t <= w.second; });
    if (in_reload) during.record(ns);  // the rest (warm-up, pauses between reloads) counts in neither
  }
  fig.num("ticker_ms", a.ticker_ms, 1);
  fig.count("lateness_samples_idle", idle.count());
  fig.num("lateness_us_p50_idle", static_cast<double>(idle.percentile(0.50)) / 1e3, 0);
  fig.num("lateness_us_p99_idle", static_cast<double>(idle.percentile(0.99)) / 1e3, 0);
  fig.num("lateness_us_max_idle", static_cast<double>(idle.max()) / 1e3, 0);
  fig.count("lateness_samples_reload", during.count());
  fig.num("lateness_us_p50_reload", static_cast<double>(during.percentile(0.50)) / 1e3, 0);
  fig.num("lateness_us_p99_reload", static_cast<double>(during.percentile(0.99)) / 1e3, 0);
  fig.num("lateness_us_max_reload", static_cast<double>(during.max()) / 1e3, 0);
  fig.num("lateness_us_p99_delta",
          static_cast<double>(during.percentile(0.99) - idle.percentile(0.99)) / 1e3, 0);
  fig.count("weftd_exit_status", static_cast<std::uint64_t>(status < 0 ? 255 : status));
  fig.host();
  return idle.count() > 0 && during.count() > 0 && status == 0 ? 0 : 1;
}

}  // namespace weft::bench
