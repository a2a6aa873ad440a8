// `weft-bench ca`: the Channel Access server of a real weftd under fan-out,
// the same way every run (issue 13's benchmark). The box: gather polling
// `--points` float32 points (instruments of 10 points, one coalesced read
// each) at `--rate-hz` on `--ports` ptys served by weft-devsim processes,
// every point a ramp, so every poll publishes a new value of each (the real
// path: serial poll -> bus -> the ca service's feed -> each monitor);
// heartbeat on a 10 ms ticker, its lateness recorded into a [store]
// (record's pattern takes that point alone); the console; ca on loopback.
// The clients are `--clients` CA circuits in this process (ca_clients.hpp:
// weft's codec over plain sockets and epoll), each creating a channel to
// every point and monitoring it (EVENT_ADD, DBR_TIME_DOUBLE, DBE_VALUE |
// DBE_ALARM, as camonitor asks).
//
// Phases, each figure from one window of it:
//   idle      points flowing, no client: the loop CPU the box spends anyway
//             (gather, record, heartbeat, ca's feed), weftd's RSS.
//   circuits  the clients connect (VERSION, CLIENT_NAME, HOST_NAME; an ECHO
//             round trip on each says the server has handled them): RSS.
//   channels  every circuit creates a channel to every point: RSS.
//   fan-out   every channel monitored; after a warm-up, a window of
//             `--seconds`: monitor updates counted in the clients (EVENT_ADD
//             replies with data), weftd's loop thread CPU (the main thread,
//             /proc/PID/task/PID/schedstat, ns) and all its threads' CPU,
//             the ca service's own loop time and allocations (the runtime's
//             accounting, `--json services`), updates squashed (`ca`),
//             this process's CPU (if near 100 % the clients, not the
//             server, set the pace).
//   search    the circuits closed; `--searches` SEARCH datagrams for unknown
//             names (one per datagram, DO_REPLY, so each is answered with
//             NOT_FOUND) spread evenly over `--search-s`, while the console
//             is asked `services` every 5 ms: its round trip then vs in an
//             idle window of the same length just before.
// Per circuit and per channel memory are RSS slopes between phases:
// (circuits - idle) / clients and (channels - circuits) / (clients x points).
// Ticker lateness: heartbeat's own `loop_lag_us` (past the ticker's slack)
// and its missed ticks (a tick more than a period late is skipped, so the
// lateness alone would hide it) from the store after weftd stopped, in the
// idle, fan-out and search windows (CLOCK_MONOTONIC is one clock for both
// processes). Loop stalls the runtime logged (a slice of 100 ms or more)
// are counted and copied to stderr.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.hpp"
#include "benches.hpp"
#include "ca_clients.hpp"
#include "measure.hpp"
#include "stored_readings.hpp"
#include "weftd_process.hpp"
#include "weft/drivers/ca/dbr.hpp"
#include "weft/drivers/ca/messages.hpp"

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPointsPerInstrument = 10;
constexpr std::size_t kServices = 5;  // gather, record, heartbeat, console, ca
const std::string kDevice = "bench";
const std::string kLagPoint = "hb.loop_lag_us";
const std::string kMissedPoint = "hb.missed_ticks";  // a tick later than a whole period is missed, not late
const std::string kRecorded = "hb.[lm]*";          // record's pattern: those two points alone

std::int64_t mono_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

std::string pv_name(int k) {
  return kDevice + ":i" + std::to_string(k / kPointsPerInstrument) + ":v" + std::to_string(k % kPointsPerInstrument);
}

std::string box_config(const std::string& gather_text, const CaArgs& a, const TempDir& dir, std::uint16_t port) {
  std::string t = gather_text;
  const std::string weftd_head = "[weftd]\n";
  t.insert(t.find(weftd_head) + weftd_head.size(),
           "data_dir = \"" + dir.file("data") + "\"\nstop_grace = \"5s\"\n");
  t += "\n[store]\npath = \"" + dir.file("data/readings.db") + "\"\nbatch_age = \"200ms\"\n";
  t += "\n[service.record]\npattern = \"" + kRecorded + "\"\n";
  t += "\n[service.heartbeat]\nperiod = \"" + std::to_string(static_cast<long long>(std::llround(a.ticker_ms * 1000))) +
       "us\"\nprefix = \"hb\"\n";
  t += "\n[service.console]\nsocket = \"" + dir.file("weftd.sock") + "\"\n";
  t += "\n[service.ca]\nport = " + std::to_string(port) + "\ninterfaces = [\"127.0.0.1\"]\ndevice = \"" + kDevice +
       "\"\nrepeater_port = " + std::to_string(port + 1) + "\nmax_circuits = " + std::to_string(a.clients + 16) +
       "\nmax_channels = " + std::to_string(a.points + 16) + "\n";
  // The loop ahead of everything else on its own core (the bench's clients,
  // the devsims and weftd's helpers share the other): what a box with the
  // [realtime] profile gets, as `reload --realtime` measures it.
  if (a.realtime) t += kRealtimeTable;
  return t;
}

// The first line of the console's `ca`: "... N PVs, ... M updates squashed".
struct CaStatus {
  std::uint64_t pvs = 0, squashed = 0;
};

std::uint64_t number_before(const std::string& text, const std::string& what) {
  const auto at = text.find(what);
  if (at == std::string::npos) throw std::runtime_error("the console's `ca` has no '" + what + "': " + text);
  auto begin = at;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(text[begin - 1]))) --begin;
  return std::stoull(text.substr(begin, at - begin));
}

CaStatus ca_status(ConsoleClient& console) {
  const console::Frame f = console.request("ca");
  if (f.kind != console::FrameKind::ok) throw std::runtime_error("the console's `ca` failed: " + f.payload);
  const std::string first = f.payload.substr(0, f.payload.find('\n'));
  return {number_before(first, " PVs,"), number_before(first, " updates squashed")};
}

// A service's loop time and allocations from `--json services` (the
// runtime's accounting; member order fixed by console_commands_services.cpp).
struct ServiceLoad {
  double loop_ns = NAN, allocations = NAN, longest_slice_ns = NAN;
};

double json_number_after(const std::string& json, const std::string& key, std::size_t from) {
  const std::string head = "\"" + key + "\":";
  const auto at = json.find(head, from);
  if (at == std::string::npos) return NAN;
  return std::strtod(json.c_str() + at + head.size(), nullptr);
}

ServiceLoad service_load(ConsoleClient& console, const std::string& name) {
  const console::Frame f = console.request("--json services");
  const auto at = f.payload.find("\"name\":\"" + name + "\"");
  if (f.kind != console::FrameKind::ok || at == std::string::npos)
    throw std::runtime_error("no service " + name + " in `--json services`: " + f.payload);
  return {json_number_after(f.payload, "loop_ns", at), json_number_after(f.payload, "allocations", at),
          json_number_after(f.payload, "longest_slice_ns", at)};
}

std::int64_t self_cpu_ns() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return (static_cast<std::int64_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000 + ru.ru_utime.tv_usec +
          ru.ru_stime.tv_usec) *
         1000;
}

// weftd's counters at one instant, for a window's deltas.
struct WeftdSample {
  Clock::time_point at;
  std::int64_t loop_ns = 0, loop_wait_ns = 0, process_ns = 0, self_ns = 0, host_steal_ns = -1;
};

WeftdSample sample(pid_t pid) {
  WeftdSample s;
  s.at = Clock::now();
  const ThreadSched loop = thread_sched(pid, pid);  // the loop runs on weftd's main thread; its others are weft-*
  s.loop_ns = loop.on_cpu_ns;
  s.loop_wait_ns = loop.runqueue_ns;
  s.process_ns = process_cpu_ns(pid);
  s.self_ns = self_cpu_ns();
  s.host_steal_ns = weft::bench::host_steal_ns();
  if (s.loop_ns < 0 || s.process_ns < 0) throw std::runtime_error("cannot read weftd's CPU from /proc/" + std::to_string(pid));
  return s;
}

// VmRSS after the allocator and the kernel settled: the median of 5 reads over 0.5 s.
double settled_rss_kib(pid_t pid) {
  std::vector<std::int64_t> v;
  for (int i = 0; i < 5; ++i) {
    sleep_s(0.1);
    v.push_back(read_vmrss_kib(pid));
  }
  std::sort(v.begin(), v.end());
  if (v.front() < 0) throw std::runtime_error("cannot read weftd's VmRSS");
  return static_cast<double>(v[2]);
}

// ECHO on every circuit, served until each has answered: the server has
// handled everything each circuit sent before.
void barrier(CircuitSet& set, double timeout_s, const char* what) {
  std::vector<std::uint64_t> want;
  for (auto& c : set.circuits()) {
    want.push_back(c->counts().echoes + 1);
    c->send(ca::Echo{});
  }
  const bool ok = set.run(Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s)), [&] {
    for (std::size_t i = 0; i < want.size(); ++i)
      if (set.circuits()[i]->counts().echoes < want[i]) return false;
    return true;
  });
  if (!ok) throw std::runtime_error(std::string("not every circuit answered ECHO within the timeout after ") + what);
}

bool each_circuit(CircuitSet& set, auto&& pred) {
  return std::all_of(set.circuits().begin(), set.circuits().end(), [&](const auto& c) { return pred(*c); });
}

Clock::time_point after_s(double s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Console round trips of `services`, one every `interval_ms`, for `seconds`.
void console_round_trips(ConsoleClient& console, double seconds, double interval_ms, LatencyHistogram& h) {
  const auto end = after_s(seconds);
  auto next = Clock::now();
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(interval_ms));
  while (next < end) {
    std::this_thread::sleep_until(next);
    const auto t0 = Clock::now();
    const console::Frame f = console.request("services");
    const auto t1 = Clock::now();
    if (f.kind != console::FrameKind::ok) throw std::runtime_error("the console's `services` failed: " + f.payload);
    h.record(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    next += interval;
    if (next < t1) next = t1;  // a slow reply delays the next request: no burst to catch up
  }
}

struct Window {
  std::int64_t from = 0, to = 0;  // mono ns
  bool holds(std::int64_t t) const { return t >= from && t < to; }
};

struct SearchResult {
  std::uint64_t sent = 0, send_failed = 0, not_found = 0;
  double send_s = 0;
};

// `n` SEARCHes for unknown names, one per datagram (VERSION + SEARCH with
// DO_REPLY, as libca frames them), evenly over `seconds`; then the NOT_FOUND
// replies are collected for 1 s more.
SearchResult search_storm(std::uint16_t port, int n, double seconds) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  SearchResult r;
  ca::Limits limits;
  std::uint8_t buf[2048];
  auto drain = [&] {
    for (;;) {
      const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
      if (got <= 0) return;
      std::span<const std::uint8_t> rest(buf, static_cast<std::size_t>(got));
      while (!rest.empty()) {
        const auto scanned = ca::scan_frame(rest, limits);
        if (!std::holds_alternative<ca::Frame>(scanned)) break;
        const ca::Frame& f = std::get<ca::Frame>(scanned);
        const auto decoded = ca::decode_response(f, limits);
        if (const auto* m = std::get_if<ca::Response>(&decoded); m && std::holds_alternative<ca::NotFound>(*m))
          ++r.not_found;
        rest = rest.subspan(f.length);
      }
    }
  };
  const auto start = Clock::now();
  std::vector<std::uint8_t> datagram;
  for (int i = 0; i < n; ++i) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds * i / n));
    std::this_thread::sleep_until(due);
    datagram.clear();
    ca::encode(datagram, ca::Version{ca::version_sequence_valid, ca::minor_version, static_cast<std::uint32_t>(i)});
    ca::encode(datagram, ca::Search{"bench:unknown:" + std::to_string(i), true, ca::minor_version,
                                    static_cast<std::uint32_t>(i)});
    if (::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
        static_cast<ssize_t>(datagram.size()))
      ++r.sent;
    else
      ++r.send_failed;
    drain();
  }
  r.send_s = seconds_between(start, Clock::now());
  const auto collect_until = after_s(1.0);
  while (Clock::now() < collect_until) {
    drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::close(fd);
  return r;
}

std::size_t count_lines_with(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}

void print_lines_with(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) std::fprintf(stderr, "weftd: %s\n", line.c_str());
}

// Ticks heartbeat counted as missed inside `w` (its counter is cumulative).
std::int64_t missed_in(const std::vector<std::pair<std::int64_t, double>>& missed, const Window& w) {
  double first = NAN, last = NAN;
  for (const auto& [at, total] : missed) {
    if (!w.holds(at)) continue;
    if (std::isnan(first)) first = total;
    last = total;
  }
  return std::isnan(first) ? -1 : static_cast<std::int64_t>(last - first);
}

void print_lateness(const Figures& fig, const std::string& window, const LatencyHistogram& h, std::int64_t missed) {
  fig.count("lateness_samples_" + window, h.count());  // ticks recorded + missed ticks
  fig.text("missed_ticks_" + window, std::to_string(missed));
  fig.num("lateness_us_p50_" + window, static_cast<double>(h.percentile(0.50)) / 1e3, 0);
  fig.num("lateness_us_p99_" + window, static_cast<double>(h.percentile(0.99)) / 1e3, 0);
  fig.num("lateness_us_max_" + window, static_cast<double>(h.max()) / 1e3, 0);
}

void print_round_trips(const Figures& fig, const std::string& window, const LatencyHistogram& h) {
  fig.count("console_round_trips_" + window, h.count());
  fig.num("console_rtt_us_p50_" + window, static_cast<double>(h.percentile(0.50)) / 1e3, 0);
  fig.num("console_rtt_us_p99_" + window, static_cast<double>(h.percentile(0.99)) / 1e3, 0);
  fig.num("console_rtt_us_max_" + window, static_cast<double>(h.max()) / 1e3, 0);
}

}  // namespace

int run_ca(const CaArgs& a) {
  if (a.points % kPointsPerInstrument != 0)
    throw std::runtime_error("--points must be a multiple of " + std::to_string(kPointsPerInstrument));
  TempDir dir("weft-ca-bench");
  std::filesystem::create_directories(dir.file("data"));
  std::filesystem::create_directories(dir.file("lock"));
  GatherShape shape;
  shape.ports = a.ports;
  shape.instruments = a.points / kPointsPerInstrument;
  shape.points = kPointsPerInstrument;
  shape.period_ms = 1000.0 / a.rate_hz;
  shape.every_poll_changes = true;
  // At 19200 baud the RTU silences alone (3.5 characters, 1.8 ms, after
  // each frame) hold a port to ~165 polls/s even on a pty; at 115200 they
  // are 0.3 ms, so 20 instruments per port at 10 Hz fit with room to spare.
  shape.baud = 115200;
  shape.log_level = a.log_level;
  shape.port_dir = dir.path();
  shape.lock_dir = dir.file("lock");
  const std::string gather_text = gather_config_text(shape);
  const std::string sim_config = dir.write("sim.toml", gather_text);
  const std::uint16_t port = free_ca_port();
  const std::string config = dir.write("weftd.toml", box_config(gather_text, a, dir, port));
  const std::string log = dir.file("weftd.log");

  Figures fig("ca");
  fig.host();
  std::vector<std::unique_ptr<DevsimProcess>> devsims;
  const std::string devsim = find_devsim(a.devsim);
  for (int k = 0; k < shape.ports; ++k) {
    devsims.push_back(std::make_unique<DevsimProcess>());
    devsims.back()->start(devsim, sim_config, port_name(k), port_path(shape, k), /*wire_time=*/false);
  }
  WeftdProcess weftd(find_weftd(a.weftd), config, log);
  std::fprintf(stderr, "weft-bench: ca: weftd pid %d on %s, CA port %u (log %s)\n", weftd.pid(), config.c_str(),
               static_cast<unsigned>(port), log.c_str());
  const double nominal_per_s = a.points * a.rate_hz * a.clients;

  Window idle_w, fanout_w, search_w;
  WeftdSample idle0, idle1, fan0, fan1;
  ServiceLoad ca0, ca1, gather0, gather1;
  CaStatus st0, st1;
  CircuitCounts got0, got1;
  double rss_idle = NAN, rss_circuits = NAN, rss_channels = NAN, rss_subscribed = NAN;
  double connect_s = NAN, create_s = NAN, subscribe_s = NAN;
  LatencyHistogram rtt_idle, rtt_search;
  SearchResult storm;
  std::string problem;
  try {
    ConsoleClient console(dir.file("weftd.sock"));
    wait_all_ready(console, weftd, kServices);
    // PVs appear as their points are first published.
    const auto pvs_by = after_s(30);
    while (ca_status(console).pvs < static_cast<std::uint64_t>(a.points)) {
      if (Clock::now() > pvs_by) throw std::runtime_error("the ca service did not serve every point within 30 s");
      sleep_s(0.1);
    }
    std::fprintf(stderr, "weft-bench: ca: %d PVs served; idle window %g s\n", a.points, a.idle_s);
    sleep_s(a.warmup_s);

    idle0 = sample(weftd.pid());
    idle_w.from = mono_ns(idle0.at);
    sleep_s(a.idle_s);
    idle1 = sample(weftd.pid());
    idle_w.to = mono_ns(idle1.at);
    rss_idle = settled_rss_kib(weftd.pid());

    CircuitSet set;
    auto t = Clock::now();
    for (int i = 0; i < a.clients; ++i) set.add(port, "bench" + std::to_string(i), "localhost").expect_channels(a.points);
    barrier(set, 30, "connecting");
    connect_s = seconds_between(t, Clock::now());
    rss_circuits = settled_rss_kib(weftd.pid());

    t = Clock::now();
    for (auto& c : set.circuits())
      for (int k = 0; k < a.points; ++k) c->send(ca::CreateChan{static_cast<std::uint32_t>(k), ca::minor_version, pv_name(k)});
    const std::uint64_t want_created = static_cast<std::uint64_t>(a.points);
    if (!set.run(after_s(120), [&] { return each_circuit(set, [&](const CaCircuit& c) { return c.counts().created >= want_created; }); }))
      throw std::runtime_error("not every channel was created within 120 s");
    create_s = seconds_between(t, Clock::now());
    barrier(set, 30, "creating the channels");
    rss_channels = settled_rss_kib(weftd.pid());

    std::fprintf(stderr, "weft-bench: ca: %d circuits x %d channels; subscribing\n", a.clients, a.points);
    t = Clock::now();
    constexpr std::uint16_t kTimeDouble = ca::dbr_code(ca::Family::time, ca::ValueType::float64);
    for (auto& c : set.circuits())
      for (int k = 0; k < a.points; ++k)
        c->send(ca::EventAdd{kTimeDouble, 1, c->sid(static_cast<std::uint32_t>(k)), static_cast<std::uint32_t>(k), 0, 0, 0,
                             static_cast<std::uint16_t>(ca::dbe_value | ca::dbe_alarm)});
    if (!set.run(after_s(120), [&] { return each_circuit(set, [&](const CaCircuit& c) { return c.counts().updates >= want_created; }); }))
      throw std::runtime_error("not every monitor had its first update within 120 s");
    subscribe_s = seconds_between(t, Clock::now());
    set.run(after_s(a.warmup_s));

    std::fprintf(stderr, "weft-bench: ca: fan-out window %g s\n", a.seconds);
    st0 = ca_status(console);
    ca0 = service_load(console, "ca");
    gather0 = service_load(console, "gather");
    got0 = set.totals();
    fan0 = sample(weftd.pid());
    fanout_w.from = mono_ns(fan0.at);
    set.run(after_s(a.seconds));
    fan1 = sample(weftd.pid());
    fanout_w.to = mono_ns(fan1.at);
    got1 = set.totals();
    // The console is asked after the window closed: its own requests (queued
    // behind the updates) are not in the window's figures.
    st1 = ca_status(console);
    ca1 = service_load(console, "ca");
    gather1 = service_load(console, "gather");
    rss_subscribed = static_cast<double>(read_vmrss_kib(weftd.pid()));
    set.close_all();

    sleep_s(1.0);  // the server closes the circuits
    std::fprintf(stderr, "weft-bench: ca: %d searches for unknown names in %g s\n", a.searches, a.search_s);
    console_round_trips(console, a.search_s, 5, rtt_idle);
    std::thread storm_thread([&] { storm = search_storm(port, a.searches, a.search_s); });
    search_w.from = mono_ns(Clock::now());
    try {
      console_round_trips(console, a.search_s, 5, rtt_search);
    } catch (...) {
      storm_thread.join();
      throw;
    }
    search_w.to = mono_ns(Clock::now());
    storm_thread.join();
  } catch (const std::exception& e) {
    problem = e.what();
  }
  const int status = weftd.stop();
  for (auto& d : devsims) d->stop();
  if (!problem.empty()) {
    print_log("ca: " + problem, log);
    return 1;
  }

  fig.count("points", static_cast<std::uint64_t>(a.points));
  fig.num("rate_hz", a.rate_hz, 1);
  fig.count("clients", static_cast<std::uint64_t>(a.clients));
  fig.count("realtime", a.realtime ? 1 : 0);
  fig.num("offered_per_s", nominal_per_s, 0);

  // Memory.
  fig.num("rss_kib_no_client", rss_idle, 0);
  fig.num("rss_kib_idle_circuits", rss_circuits, 0);
  fig.num("rss_kib_channels", rss_channels, 0);
  fig.num("rss_kib_subscribed", rss_subscribed, 0);
  fig.num("kib_per_idle_circuit", (rss_circuits - rss_idle) / a.clients, 2);
  fig.num("bytes_per_channel", (rss_channels - rss_circuits) * 1024.0 / (static_cast<double>(a.clients) * a.points), 0);
  fig.num("connect_s", connect_s, 3);
  fig.num("create_channels_s", create_s, 3);
  fig.num("subscribe_s", subscribe_s, 3);

  // Fan-out.
  const double idle_s = seconds_between(idle0.at, idle1.at);
  const double fan_s = seconds_between(fan0.at, fan1.at);
  const double delivered = static_cast<double>(got1.updates - got0.updates);
  const double loop_ns = static_cast<double>(fan1.loop_ns - fan0.loop_ns);
  const double idle_loop_per_s = static_cast<double>(idle1.loop_ns - idle0.loop_ns) / idle_s;
  fig.num("window_s", fan_s, 3);
  fig.num("delivered_per_s", delivered / fan_s, 0);
  fig.num("delivered_of_offered", delivered / fan_s / nominal_per_s, 3);
  const double squashed = static_cast<double>(st1.squashed - st0.squashed);
  fig.num("squashed_per_s", squashed / fan_s, 0);
  // Every poll changes every point, so each reading is one update per
  // circuit, delivered or squashed: the rate gather really achieved.
  fig.num("point_rate_hz", (delivered + squashed) / fan_s / (static_cast<double>(a.clients) * a.points), 2);
  fig.num("received_mib_per_s", static_cast<double>(got1.bytes_in - got0.bytes_in) / fan_s / (1024.0 * 1024.0), 1);
  fig.num("loop_cpu_pct_idle", 100.0 * idle_loop_per_s / 1e9, 1);
  fig.num("loop_cpu_pct", 100.0 * loop_ns / fan_s / 1e9, 1);
  // Runnable but not running: the time a busy host (other processes, the
  // clients, the devsims) kept the loop thread off the CPUs.
  fig.num("loop_runqueue_pct_idle", 100.0 * static_cast<double>(idle1.loop_wait_ns - idle0.loop_wait_ns) / idle_s / 1e9, 1);
  fig.num("loop_runqueue_pct", 100.0 * static_cast<double>(fan1.loop_wait_ns - fan0.loop_wait_ns) / fan_s / 1e9, 1);
  // Steal, in % of one CPU (all CPUs summed; 10 ms ticks): lateness in a
  // window with steal is the host's, not the loop's.
  auto steal_pct = [](const WeftdSample& from, const WeftdSample& to, double s) {
    if (from.host_steal_ns < 0 || to.host_steal_ns < 0) return static_cast<double>(NAN);
    return 100.0 * static_cast<double>(to.host_steal_ns - from.host_steal_ns) / s / 1e9;
  };
  fig.num("host_steal_pct_idle", steal_pct(idle0, idle1, idle_s), 2);
  fig.num("host_steal_pct", steal_pct(fan0, fan1, fan_s), 2);
  fig.num("loop_cpu_us_per_update", delivered > 0 ? loop_ns / delivered / 1e3 : NAN, 3);
  fig.num("loop_cpu_us_per_update_above_idle", delivered > 0 ? (loop_ns - idle_loop_per_s * fan_s) / delivered / 1e3 : NAN, 3);
  fig.num("ca_loop_us_per_update", delivered > 0 ? (ca1.loop_ns - ca0.loop_ns) / delivered / 1e3 : NAN, 3);
  fig.num("ca_allocations_per_update", delivered > 0 ? (ca1.allocations - ca0.allocations) / delivered : NAN, 2);
  // The runtime keeps the longest slice since start: a larger one after the
  // window than before it was the window's.
  fig.num("ca_longest_slice_ms_before_window", ca0.longest_slice_ns / 1e6, 2);
  fig.num("ca_longest_slice_ms_after_window", ca1.longest_slice_ns / 1e6, 2);
  fig.num("gather_longest_slice_ms_after_window", gather1.longest_slice_ns / 1e6, 2);
  fig.num("gather_loop_pct", 100.0 * (gather1.loop_ns - gather0.loop_ns) / fan_s / 1e9, 1);
  fig.num("weftd_cpu_pct", 100.0 * static_cast<double>(fan1.process_ns - fan0.process_ns) / fan_s / 1e9, 1);
  fig.num("clients_cpu_pct", 100.0 * static_cast<double>(fan1.self_ns - fan0.self_ns) / fan_s / 1e9, 1);

  // Searches.
  fig.count("searches_sent", storm.sent);
  fig.count("searches_send_failed", storm.send_failed);
  fig.num("search_send_s", storm.send_s, 3);
  fig.count("not_found_received", storm.not_found);
  print_round_trips(fig, "idle", rtt_idle);
  print_round_trips(fig, "search", rtt_search);

  // Ticker lateness.
  LatencyHistogram lat_idle, lat_fanout, lat_search;
  for (const auto& [at, lag_us] : stored_readings(dir.file("data/readings.db"), kLagPoint)) {
    const auto ns = static_cast<std::int64_t>(lag_us * 1e3);
    if (idle_w.holds(at)) lat_idle.record(ns);
    else if (fanout_w.holds(at)) lat_fanout.record(ns);
    else if (search_w.holds(at)) lat_search.record(ns);
  }
  fig.num("ticker_ms", a.ticker_ms, 1);
  // A missed tick was at least a period late: it enters the percentiles as
  // one period (a lower bound), so a loop that skips ticks cannot look on time.
  const auto missed = stored_readings(dir.file("data/readings.db"), kMissedPoint);
  const auto period_ns = static_cast<std::int64_t>(a.ticker_ms * 1e6);
  auto with_missed = [&](LatencyHistogram& h, const Window& w) {
    const std::int64_t n = missed_in(missed, w);
    for (std::int64_t i = 0; i < n; ++i) h.record(period_ns);
    return n;
  };
  const std::int64_t missed_idle = with_missed(lat_idle, idle_w);
  const std::int64_t missed_fanout = with_missed(lat_fanout, fanout_w);
  const std::int64_t missed_search = with_missed(lat_search, search_w);
  print_lateness(fig, "idle", lat_idle, missed_idle);
  print_lateness(fig, "fanout", lat_fanout, missed_fanout);
  print_lateness(fig, "search", lat_search, missed_search);
  fig.count("weftd_feed_drop_lines", count_lines_with(log, "readings dropped"));
  // The runtime's stall monitor logs a service that held the loop 100 ms or
  // more (its name, how long): the lines go to stderr, their count here.
  fig.count("weftd_loop_stalls", count_lines_with(log, "loop stalled"));
  print_lines_with(log, "loop stall");
  fig.count("weftd_exit_status", static_cast<std::uint64_t>(status < 0 ? 255 : status));
  fig.host();
  return status == 0 && lat_fanout.count() > 0 ? 0 : 1;
}

}  // namespace weft::bench
