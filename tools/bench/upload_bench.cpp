// `weft-bench upload`: how fast the upload service drains a backlog into a
// local mosquitto broker, and what draining costs the loop.
//
// A store (SQLite, in a temp dir) is filled with --rows readings before the
// upload starts (a stand-in "record" service fills it, then is ready), and a
// mosquitto broker runs on a free loopback port (persistence off). The
// upload service, as weftd runs it, then drains everything; a watcher polls
// the store's delivered ranges every 50 ms until [1, rows] is delivered.
//
// Figures (one "upload key=value" line each):
//   drain_rows_per_s    rows / (first connect .. all marked delivered)
//   upload_longest_slice_us  the upload service's longest uninterrupted run
//       on the loop (Runtime::snapshot): what draining can hold up others
//   probe_late_max_us / probe_late_p99_us  lateness of a 1 ms precise ticker
//       on the same loop while draining (everything on the loop included)
//   upload_loop_ms      loop time charged to upload in total
#include <fcntl.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "bench_support.hpp"
#include "benches.hpp"
#include "weft/apps/assembly/catalog.hpp"
#include "weft/core/config.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::bench {
namespace {

using boost::asio::awaitable;

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    throw std::runtime_error("cannot find a free loopback port");
  }
  ::close(s);
  return ntohs(a.sin_port);
}

bool accepting(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

// mosquitto as a child; stopped by PID (SIGTERM, then SIGKILL) and reaped.
class Broker {
public:
  Broker(const TempDir& dir, int port) {
    const std::string conf =
        dir.write("mosquitto.conf", "listener " + std::to_string(port) + " 127.0.0.1\nallow_anonymous true\n"
                                    "persistence false\nmax_inflight_messages 0\nmax_queued_messages 0\n");
    std::vector<std::string> argv{"/usr/sbin/mosquitto", "-c", conf};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start /usr/sbin/mosquitto (apt-get install mosquitto)");
    for (int i = 0; i < 500 && !accepting(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!accepting(port)) throw std::runtime_error("mosquitto did not listen on port " + std::to_string(port));
  }
  ~Broker() {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

private:
  pid_t pid_ = -1;
};

struct Shared {
  const UploadArgs* args = nullptr;
  store::Store* store = nullptr;
  Runtime* runtime = nullptr;
  MonoTime drain_started{}, drain_done{};
  bool drained = false;
  std::vector<std::int64_t> late_ns;
  bool probing = false;
};

// Stands in for weftd's record service: fills the store, then is ready.
ServiceSpec filler(Shared& sh, RestartPolicy policy) {
  return coroutine_service("record", {}, policy, [p = &sh](Context& ctx) -> awaitable<void> {
    Shared& s = *p;
    co_await s.store->open();
    const auto n = static_cast<std::uint64_t>(s.args->rows);
    for (std::uint64_t i = 1; i <= n; ++i) {
      Reading r;
      r.point = "bench.p" + std::to_string(i % 10);
      r.value = static_cast<double>(i) * 0.5;
      r.mono_ns = to_ns(ctx.clock().now());
      r.boot = BootId::current();
      r.wall_ns = ctx.clock().wall_ns();
      s.store->append(r);
      if (i % 20'000 == 0) co_await s.store->flushed();  // stay under the store's queue capacity
    }
    co_await s.store->flushed();
    std::fprintf(stderr, "weft-bench: upload: %llu rows in the store; draining\n", static_cast<unsigned long long>(n));
    s.drain_started = ctx.clock().now();
    s.probing = true;
    ctx.ready();
    for (;;) co_await ctx.sleep(std::chrono::hours(1));
  });
}

// Polls the delivered ranges until [first, rows] is covered.
ServiceSpec watcher(Shared& sh) {
  return coroutine_service("watch", {"upload"}, {}, [p = &sh](Context& ctx) -> awaitable<void> {
    Shared& s = *p;
    ctx.ready();
    const auto n = static_cast<std::uint64_t>(s.args->rows);
    for (;;) {
      co_await ctx.sleep(std::chrono::milliseconds(50));
      const auto ranges = co_await s.store->delivered_ranges();
      if (!ranges.empty() && ranges.front().first <= 1 && ranges.front().second >= n) {
        s.drain_done = ctx.clock().now();
        s.drained = true;
        s.probing = false;
        s.runtime->request_stop();
        for (;;) co_await ctx.sleep(std::chrono::hours(1));
      }
    }
  });
}

// A precise 1 ms ticker: its lateness is what the loop's other work costs.
ServiceSpec probe(Shared& sh) {
  return coroutine_service("probe", {}, {}, [p = &sh](Context& ctx) -> awaitable<void> {
    Shared& s = *p;
    TickerOptions o;
    o.slack = Duration::zero();
    Ticker t = ctx.ticker(std::chrono::milliseconds(1), o);
    ctx.ready();
    for (;;) {
      const Tick tick = co_await t.next();
      // Skipped ticks count: lateness from the first tick that was missed.
      const Duration late = ctx.clock().now() - tick.scheduled + static_cast<std::int64_t>(tick.missed) * t.period();
      if (s.probing) s.late_ns.push_back(late.count());
    }
  });
}

}  // namespace

int run_upload(const UploadArgs& a) {
  logging::set_default_level(*logging::parse_level(a.log_level));
  TempDir dir("weft-bench-upload");
  const int port = free_port();
  Broker broker(dir, port);

  store::StoreOptions so;
  so.path = dir.file("readings.db");
  store::Store store(so);

  char rate[64];
  std::snprintf(rate, sizeof rate, "%.17g", a.backlog_rate);
  // [service.record] only satisfies upload's check: the filler below stands in for it.
  const Config config = Config::parse("[service.record]\n[service.upload]\nurl = \"mqtt://127.0.0.1:" + std::to_string(port) +
                                          "\"\ndevice = \"bench\"\nbatch_rows = " + std::to_string(a.batch_rows) +
                                          "\nmax_in_flight = " + std::to_string(a.max_in_flight) +
                                          "\nbacklog_rate = " + rate + "\n",
                                      "upload-bench.toml");
  const auto section = *config.root().table("service")->table("upload");

  RuntimeOptions ro;
  ro.handle_signals = false;
  Runtime runtime(ro);
  Shared sh;
  sh.args = &a;
  sh.store = &store;
  sh.runtime = &runtime;
  RestartPolicy once;
  once.intensity = 0;
  once.start_timeout = std::chrono::minutes(10);
  runtime.add(filler(sh, once));
  runtime.add(apps::upload_factory({}, &store).make(section, config.root(), once), section);
  runtime.add(watcher(sh));
  runtime.add(probe(sh));
  runtime.stop_after(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(a.timeout_s)));
  runtime.run();

  Figures f("upload");
  f.host();
  f.count("rows", static_cast<std::uint64_t>(a.rows));
  f.count("batch_rows", static_cast<std::uint64_t>(a.batch_rows));
  f.count("max_in_flight", static_cast<std::uint64_t>(a.max_in_flight));
  f.num("backlog_rate_limit", a.backlog_rate, 0);
  if (!sh.drained) {
    f.text("result", "not drained within the timeout");
    return 1;
  }
  const double seconds = std::chrono::duration<double>(sh.drain_done - sh.drain_started).count();
  f.num("drain_s", seconds, 3);
  f.num("drain_rows_per_s", static_cast<double>(a.rows) / seconds, 0);
  for (const auto& s : runtime.snapshot()) {
    if (s.name != "upload") continue;
    f.num("upload_longest_slice_us", static_cast<double>(s.stats.longest_slice_ns) / 1e3, 1);
    f.num("upload_loop_ms", static_cast<double>(s.stats.loop_ns) / 1e6, 1);
  }
  auto late = sh.late_ns;
  std::sort(late.begin(), late.end());
  if (!late.empty()) {
    f.num("probe_late_p99_us", static_cast<double>(late[late.size() * 99 / 100]) / 1e3, 1);
    f.num("probe_late_max_us", static_cast<double>(late.back()) / 1e3, 1);
  }
  return 0;
}

}  // namespace weft::bench
