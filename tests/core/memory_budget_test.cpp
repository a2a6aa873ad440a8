// Memory budgets ([service.NAME] memory_limit, memory_account.hpp): a
// service's held bytes are its allocations minus the frees of those blocks,
// whoever frees them (another service, a pool thread, the runtime); every
// form of operator new/delete (sized, aligned, nothrow, arrays) keeps them
// exact; an allocation past the limit throws std::bad_alloc in that service
// only, which fails and is restarted, the refusal logged once with the
// limit and the high-water mark; the supervisor's own work at the limit and
// a stop landing at the refusal do not take the box down; the leak rule
// (LeakWatch) on synthetic samples and on the virtual clock.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "support/virtual_runtime.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/config.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/memory_account.hpp"
#include "weft/core/runtime_control.hpp"
#include "weft/core/service.hpp"

using namespace std::chrono_literals;
using boost::asio::awaitable;

namespace weft {
namespace memory_test {  // named: the test sources are built as unity batches

std::int64_t held(const MemoryAccount* a) { return a->held.load(std::memory_order_relaxed); }

int count_lines(std::uint64_t after, const std::string& logger, const std::string& text) {
  int n = 0;
  for (const auto& line : logging::recent_lines(after, 1000, logger))
    if (line.text.find(text) != std::string::npos) ++n;
  return n;
}

std::string find_line(std::uint64_t after, const std::string& logger, const std::string& text) {
  for (const auto& line : logging::recent_lines(after, 1000, logger))
    if (line.text.find(text) != std::string::npos) return line.text;
  return {};
}

// The account of the running service (read once, before the measured work:
// the snapshot allocates).
MemoryAccount* own_account(const Runtime& runtime, const std::string& name) {
  return test::snapshot_of(runtime, name).stats.memory;
}

struct alignas(64) Line {
  char bytes[200];
};

}  // namespace memory_test

using namespace memory_test;

TEST_CASE("memory: held bytes are charged to the allocating service and credited to it whoever frees",
          "[memory_budget]") {
  Runtime runtime(test::virtual_options());
  MemoryAccount* owner_account = nullptr;
  MemoryAccount* freer_account = nullptr;
  char* handed = nullptr;       // owner -> freer (as over the bus)
  char* to_pool = nullptr;      // owner -> a blocking-pool thread
  char* to_runtime = nullptr;   // owner -> the test, after run()
  char* plain = new char[777];  // the runtime's (no slice): plain, no header
  std::int64_t owner_delta = -1, freer_delta_on_free = -1, owner_after_handoff = -1, owner_after_pool = -1;
  std::int64_t owner_plain_free_delta = -1, base = 0;

  runtime.add(coroutine_service("owner", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(1ms);
    owner_account = own_account(runtime, "owner");
    base = held(owner_account);
    handed = new char[10000];
    to_pool = new char[3000];
    to_runtime = new char[500];
    owner_delta = held(owner_account) - base;
    std::memset(handed, 1, 10000);
    co_await ctx.sleep(10ms);  // the freer frees `handed` meanwhile
    owner_after_handoff = held(owner_account) - base;
    co_await ctx.blocking([&] { delete[] to_pool; });
    owner_after_pool = held(owner_account) - base;
    const std::int64_t before_plain = held(owner_account);
    delete[] plain;  // not its block: must not lower its figure
    owner_plain_free_delta = held(owner_account) - before_plain;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(coroutine_service("freer", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(5ms);
    freer_account = own_account(runtime, "freer");
    const std::int64_t before = held(freer_account);
    delete[] handed;
    freer_delta_on_free = held(freer_account) - before;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == kExitOk);

  REQUIRE(owner_account != nullptr);
  REQUIRE(freer_account != nullptr);
  CHECK(owner_account != freer_account);
  CHECK(owner_delta == 10000 + 3000 + 500);
  CHECK(owner_after_handoff == 3000 + 500);  // the freer's delete credited the owner...
  CHECK(freer_delta_on_free == 0);           // ...and left the freer alone
  CHECK(owner_after_pool == 500);            // a pool thread's delete too
  CHECK(owner_plain_free_delta == 0);
  const std::int64_t before_runtime_free = held(owner_account);
  delete[] to_runtime;  // outside every slice
  CHECK(held(owner_account) == before_runtime_free - 500);
  CHECK(owner_account->high >= base + 13500);
}

TEST_CASE("memory: sized, aligned, nothrow and array forms keep held bytes exact and blocks aligned",
          "[memory_budget]") {
  Runtime runtime(test::virtual_options());
  std::vector<const char*> failures;  // no allocation to note one
  std::int64_t start = -1, end = -1;
  runtime.add(coroutine_service("forms", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(1ms);
    MemoryAccount* a = own_account(runtime, "forms");
    failures.reserve(64);
    start = held(a);
    auto expect = [&](const char* what, std::int64_t want) {
      if (held(a) - start != want) failures.push_back(what);  // reserved: no allocation
    };
    auto aligned = [&](const char* what, const void* p, std::size_t al) {
      if (reinterpret_cast<std::uintptr_t>(p) % al != 0) failures.push_back(what);
    };
    void* p = ::operator new(100);
    expect("new(100)", 100);
    std::memset(p, 0xa5, 100);
    ::operator delete(p, std::size_t{100});
    expect("sized delete", 0);
    p = ::operator new[](250);
    expect("new[](250)", 250);
    ::operator delete[](p, std::size_t{250});
    expect("sized delete[]", 0);
    p = ::operator new(0);
    expect("new(0)", 0);
    ::operator delete(p);
    for (std::size_t al : {std::size_t{32}, std::size_t{64}, std::size_t{4096}}) {
      p = ::operator new(300, std::align_val_t(al));
      aligned("aligned new", p, al);
      expect("aligned new", 300);
      std::memset(p, 0x5a, 300);
      ::operator delete(p, std::align_val_t(al));
      expect("aligned delete", 0);
      p = ::operator new[](70, std::align_val_t(al));
      aligned("aligned new[]", p, al);
      ::operator delete[](p, std::size_t{70}, std::align_val_t(al));
      expect("sized aligned delete[]", 0);
    }
    Line* line = new Line;  // alignas(64): the aligned forms, by the compiler
    aligned("new Line", line, 64);
    expect("new Line", sizeof(Line));
    delete line;  // sized aligned delete
    expect("delete Line", 0);
    Line* lines = new Line[3];
    aligned("new Line[3]", lines, 64);
    delete[] lines;
    expect("delete[] Line", 0);
    p = ::operator new(40, std::nothrow);
    expect("nothrow new", 40);
    ::operator delete(p, std::nothrow);
    expect("nothrow delete", 0);
    p = ::operator new(40, std::align_val_t(128), std::nothrow);
    aligned("nothrow aligned new", p, 128);
    ::operator delete(p, std::align_val_t(128), std::nothrow);
    expect("nothrow aligned delete", 0);
    auto shared = std::make_shared<Line>();  // one block, freed by the last owner
    aligned("make_shared<Line>", shared.get(), 64);
    shared.reset();
    expect("make_shared released", 0);
    end = held(a);
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == kExitOk);
  CHECK(failures.empty());
  for (const auto& f : failures) UNSCOPED_INFO("wrong: " << f);
  CHECK(end == start);
}

TEST_CASE("memory: past its limit a service gets std::bad_alloc, fails and is restarted, the rest keeps running",
          "[memory_budget]") {
  logging::flush();
  const std::uint64_t before = logging::last_line_seq();
  Runtime runtime(test::virtual_options());
  int runs = 0, refusals_seen = 0, neighbour_ticks = 0;
  std::int64_t held_at_refusal = -1;
  bool neighbour_refused = false;
  RestartPolicy policy;
  policy.intensity = 100;
  ServiceSpec hog = coroutine_service("hog1", {}, policy, [&](Context& ctx) -> awaitable<void> {
    ++runs;
    ctx.ready();
    co_await ctx.sleep(5ms);
    MemoryAccount* account = own_account(runtime, "hog1");
    std::vector<std::unique_ptr<char[]>> kept;
    kept.reserve(1000);
    try {
      for (int i = 0; i < 4096; ++i) kept.emplace_back(new char[1024]);  // bounded: 4 MiB if never refused
    } catch (const std::bad_alloc&) {
      ++refusals_seen;
      held_at_refusal = held(account);  // nothing freed yet
    }
    if (runs < 3) throw std::bad_alloc();  // as if it had not caught it: the run fails
    for (;;) co_await ctx.sleep(1h);
  });
  hog.memory_limit = 64 * 1024;
  runtime.add(std::move(hog));
  runtime.add(coroutine_service("neighbour", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    auto ticker = ctx.ticker(10ms);
    for (;;) {
      co_await ticker.next();
      ++neighbour_ticks;
      try {
        std::vector<char> big(1024 * 1024);  // no limit: never refused
        big[4] = 1;
      } catch (const std::bad_alloc&) {
        neighbour_refused = true;
      }
    }
  }));
  runtime.stop_after(2s);
  REQUIRE(runtime.run() == kExitOk);
  logging::flush();

  const ServiceSnapshot s = test::snapshot_of(runtime, "hog1");
  REQUIRE(s.stats.memory != nullptr);
  CHECK(runs == 3);
  CHECK(refusals_seen == 3);
  CHECK(s.restarts == 2);
  CHECK(s.stats.memory->limit == 64 * 1024);
  CHECK(s.stats.memory->refusals == 3);
  CHECK(held_at_refusal <= 64 * 1024);
  CHECK(held_at_refusal > 64 * 1024 - 2 * 1024);
  CHECK(s.stats.memory->high <= 64 * 1024);
  CHECK(s.stats.memory->high > 60 * 1024);
  // One line per refused run (each failed run's refusal), naming limit and high-water mark.
  CHECK(count_lines(before, "hog1", "went over its memory_limit of 65536 bytes") == 3);
  const std::string line = find_line(before, "hog1", "went over its memory_limit");
  CHECK_THAT(line, Catch::Contains("service hog1") && Catch::Contains("high-water mark") &&
                       Catch::Contains("asked for 1024 more"));
  CHECK(count_lines(before, "hog1", "failed: std::bad_alloc") == 2);
  // The neighbour: every 10 ms tick over the 2 s, its 1 MiB never refused.
  CHECK_FALSE(neighbour_refused);
  CHECK(neighbour_ticks >= 199);
  CHECK(test::snapshot_of(runtime, "neighbour").stats.memory->refusals == 0);
}

TEST_CASE("memory: a destructor allocating while the refusal unwinds is let through, not std::terminate",
          "[memory_budget]") {
  Runtime runtime(test::virtual_options());
  bool unwound = false, never_refused = false;
  struct Noisy {
    bool* flag;
    ~Noisy() {
      std::string note(4096, 'x');  // allocates during the unwinding, already at the limit
      *flag = note.size() == 4096;
    }
  };
  RestartPolicy policy;
  policy.intensity = 100;
  ServiceSpec spec = coroutine_service("unwinder", {}, policy, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(1ms);
    if (unwound) {
      for (;;) co_await ctx.sleep(1h);
    }
    std::vector<std::unique_ptr<char[]>> kept;
    kept.reserve(100);
    Noisy noisy{&unwound};
    for (int i = 0; i < 4096; ++i) kept.emplace_back(new char[1024]);  // bad_alloc unwinds through ~Noisy
    never_refused = true;
    throw std::bad_alloc();
  });
  spec.memory_limit = 16 * 1024;
  runtime.add(std::move(spec));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == kExitOk);
  CHECK_FALSE(never_refused);
  CHECK(unwound);
  CHECK(test::snapshot_of(runtime, "unwinder").restarts == 1);
}

TEST_CASE("memory: at its limit the supervisor's handling of the failure is not refused, "
          "a free elsewhere lets the restart through",
          "[memory_budget]") {
  logging::flush();
  const std::uint64_t before = logging::last_line_seq();
  Runtime runtime(test::virtual_options());
  // Outlives the hog's runs (as a buffer handed to another service would):
  // its failed run leaves it at the limit.
  std::vector<std::unique_ptr<char[]>> outside;
  outside.reserve(4096);
  int runs = 0;
  bool second_run_ok = false;
  RestartPolicy policy;
  policy.intensity = 100;
  policy.min_backoff = 50ms;
  ServiceSpec hog = coroutine_service("hog2", {}, policy, [&](Context& ctx) -> awaitable<void> {
    ++runs;
    ctx.ready();
    co_await ctx.sleep(1ms);
    if (runs == 1) {
      // To the byte: then the supervisor's first allocation for the failure
      // (its list of failure times) would be refused, were it charged to hog2.
      try {
        for (int i = 0; i < 64; ++i) outside.emplace_back(new char[1000]);
      } catch (const std::bad_alloc&) {
      }
      try {
        for (int i = 0; i < 1000; ++i) outside.emplace_back(new char[16]);
      } catch (const std::bad_alloc&) {
      }
      for (int i = 0; i < 1000; ++i) outside.emplace_back(new char[1]);  // this refusal escapes
    }
    second_run_ok = true;
    for (;;) co_await ctx.sleep(1h);
  });
  hog.memory_limit = 32 * 1024;
  runtime.add(std::move(hog));
  runtime.add(coroutine_service("janitor", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(20ms);  // after the failure, before the restart
    outside.clear();           // credits the hog
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == kExitOk);
  logging::flush();
  CHECK(runs == 2);
  CHECK(second_run_ok);
  CHECK(count_lines(before, "hog2", "failed: std::bad_alloc; restarting") == 1);
  CHECK(count_lines(before, "hog2", "went over its memory_limit of 32768 bytes") == 1);
  CHECK(held(test::snapshot_of(runtime, "hog2").stats.memory) < 1024);
}

TEST_CASE("memory: a service at its limit calls ready(): the supervisor's bookkeeping is not refused, "
          "its dependent starts, all services are ready",
          "[memory_budget]") {
  logging::flush();
  const std::uint64_t before = logging::last_line_seq();
  Runtime runtime(test::virtual_options());
  constexpr std::int64_t kLimit = 32 * 1024;
  std::int64_t held_at_ready = -1;
  bool ready_refused = false, dependent_ran = false;
  ServiceSpec tight = coroutine_service("tight", {}, {}, [&](Context& ctx) -> awaitable<void> {
    MemoryAccount* account = own_account(runtime, "tight");  // the snapshot allocates: before the ballast
    std::unique_ptr<char[]> ballast(new char[static_cast<std::size_t>(kLimit - held(account))]);
    held_at_ready = held(account);  // to the byte: any allocation of its own now is refused
    try {
      ctx.ready();  // the supervisor's "ready" work (state, dependents, READY=1) runs in this call
    } catch (const std::bad_alloc&) {
      ready_refused = true;
    }
    ballast.reset();
    for (;;) co_await ctx.sleep(1h);
  });
  tight.memory_limit = kLimit;
  runtime.add(std::move(tight));
  runtime.add(coroutine_service("after_tight", {"tight"}, {}, [&](Context& ctx) -> awaitable<void> {
    dependent_ran = true;
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == kExitOk);
  logging::flush();
  CHECK(held_at_ready == kLimit);
  CHECK_FALSE(ready_refused);
  CHECK(dependent_ran);
  CHECK(test::snapshot_of(runtime, "tight").restarts == 0);
  CHECK(count_lines(before, "", "all 2 services ready") == 1);
}

TEST_CASE("memory: a service at its limit starting another (RuntimeControl): the launch is the runtime's, "
          "not refused half way",
          "[memory_budget]") {
  Runtime runtime(test::virtual_options());
  constexpr std::int64_t kLimit = 32 * 1024;
  int target_runs = 0;
  bool stopped = false, started = false, refused = false, started_on_retry = false;
  std::int64_t held_at_start = -1;
  std::string target_state;
  runtime.add(coroutine_service("target", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ++target_runs;
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  ServiceSpec ctl = coroutine_service("ctl", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(5ms);
    stopped = ctx.runtime_control().stop_service("target");
    co_await ctx.sleep(50ms);  // target stopped meanwhile
    MemoryAccount* account = own_account(runtime, "ctl");
    std::unique_ptr<char[]> ballast(new char[static_cast<std::size_t>(kLimit - held(account))]);
    held_at_start = held(account);
    try {
      started = ctx.runtime_control().start_service("target");  // as the console's `start target` does
    } catch (const std::bad_alloc&) {
      refused = true;
    }
    ballast.reset();
    if (refused) started_on_retry = ctx.runtime_control().start_service("target");
    co_await ctx.sleep(10ms);
    target_state = test::snapshot_of(runtime, "target").state;
    for (;;) co_await ctx.sleep(1h);
  });
  ctl.memory_limit = kLimit;
  runtime.add(std::move(ctl));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == kExitOk);
  REQUIRE(stopped);
  CHECK(held_at_start == kLimit);
  CHECK_FALSE(refused);
  CHECK(started);
  CHECK_FALSE(started_on_retry);  // (not tried unless refused; a refused start left it "waiting", unstartable)
  CHECK(target_runs == 2);
  CHECK(target_state == "running");
}

TEST_CASE("memory: an impossible size is refused in every form, never wrapped round to a small block",
          "[memory_budget]") {
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  void* volatile sink = nullptr;  // the calls are not elided; a block wrongly given is left alone
  auto keep = [&](void* p) {
    sink = p;
    return p;
  };
#if defined(__SANITIZE_ADDRESS__)
  // ASan aborts a malloc past its maximum (allocator_may_return_null=0, as
  // CI runs it) instead of returning null: only the sizes the header itself
  // wraps, refused before malloc, can be asked of it.
  const std::initializer_list<std::size_t> sizes = {kMax, kMax - 8, kMax - 15};
#else
  const std::initializer_list<std::size_t> sizes = {kMax, kMax - 8, kMax - 15, kMax - 63, kMax - 4095};
#endif
  for (std::size_t n : sizes) {
    INFO("size SIZE_MAX - " << kMax - n);
    CHECK_THROWS_AS(keep(::operator new(n)), std::bad_alloc);
    CHECK_THROWS_AS(keep(::operator new[](n)), std::bad_alloc);
    CHECK(keep(::operator new(n, std::nothrow)) == nullptr);
    for (std::size_t al : {std::size_t{8}, std::size_t{64}, std::size_t{4096}}) {
      INFO("aligned to " << al);
      CHECK_THROWS_AS(keep(::operator new(n, std::align_val_t(al))), std::bad_alloc);
      CHECK(keep(::operator new[](n, std::align_val_t(al), std::nothrow)) == nullptr);
    }
  }
}

TEST_CASE("memory: a stop landing in the slice of the refusal stops the service once, the refusal logged once",
          "[memory_budget]") {
  logging::flush();
  const std::uint64_t before = logging::last_line_seq();
  Runtime runtime(test::virtual_options());
  int runs = 0;
  ServiceSpec hog = coroutine_service("hog3", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ++runs;
    ctx.ready();
    co_await ctx.sleep(1ms);
    std::vector<std::unique_ptr<char[]>> kept;
    kept.reserve(1000);
    try {
      for (int i = 0; i < 4096; ++i) kept.emplace_back(new char[1024]);
    } catch (const std::bad_alloc&) {
      runtime.request_stop();  // the stop lands here, inside the failing allocation's slice
      throw;
    }
  });
  hog.memory_limit = 16 * 1024;
  runtime.add(std::move(hog));
  runtime.add(coroutine_service("other", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(10s);
  REQUIRE(runtime.run() == kExitOk);
  logging::flush();
  CHECK(runs == 1);  // not restarted into the shutdown
  CHECK(count_lines(before, "hog3", "went over its memory_limit of 16384 bytes") == 1);
  // The shutdown stops services in reverse order: hog3 was still running, so its exit is a failure, not a restart.
  CHECK(count_lines(before, "hog3", "failed during shutdown: std::bad_alloc") == 1);
  CHECK(count_lines(before, "hog3", "restarting") == 0);
}

TEST_CASE("memory: the stop of a service whose cleanup is refused ends cleanly", "[memory_budget]") {
  logging::flush();
  const std::uint64_t before = logging::last_line_seq();
  Runtime runtime(test::virtual_options());
  std::vector<std::unique_ptr<char[]>> outside;
  outside.reserve(1000);
  bool cleanup_refused = false;
  ServiceSpec hog = coroutine_service("hog4", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(1ms);
    try {
      for (int i = 0; i < 1000; ++i) outside.emplace_back(new char[1000]);  // caught: it goes on at its limit
    } catch (const std::bad_alloc&) {
    }
    try {
      co_await ctx.sleep(1h);  // the stop's cancellation lands here
    } catch (const boost::system::system_error&) {
    }
    try {
      std::string farewell(8192, 'f');  // refused: the cleanup fails in the stopping service
    } catch (const std::bad_alloc&) {
      cleanup_refused = true;
      throw;
    }
  });
  hog.memory_limit = 16 * 1024;
  runtime.add(std::move(hog));
  runtime.stop_after(10s);
  REQUIRE(runtime.run() == kExitOk);
  logging::flush();
  CHECK(cleanup_refused);
  CHECK(count_lines(before, "hog4", "stopped with an error: std::bad_alloc") == 1);
  // Two refusals: the first reported at a clock check (the service went on), the second at its exit.
  CHECK(count_lines(before, "hog4", "went over its memory_limit of 16384 bytes") == 2);
  outside.clear();
}

TEST_CASE("memory: the leak rule flags a floor that rose in each of six windows, not a busy sawtooth",
          "[memory_budget]") {
  const MonoTime t0 = VirtualClock::kStart;
  const Duration w = LeakWatch::kWindow;
  SECTION("a rising floor") {
    LeakWatch leak;
    // Within each window the figure swings by 50 KB around a floor that rises 1 KB per window.
    for (int window = 0; window <= LeakWatch::kRises + 1; ++window) {
      for (int i = 0; i < 10; ++i) {
        leak.sample(t0 + window * w + i * (w / 10), 100'000 + window * 1000 + (i % 2) * 50'000);
        if (window <= LeakWatch::kRises) CHECK_FALSE(leak.suspected());
      }
    }
    leak.sample(t0 + (LeakWatch::kRises + 2) * w, 200'000);  // closes the window kRises + 1
    CHECK(leak.suspected());
    CHECK(leak.rise() == LeakWatch::kRises * 1000);
    // It levels out: one window whose floor does not rise clears the flag.
    for (int i = 0; i < 10; ++i) leak.sample(t0 + (LeakWatch::kRises + 2) * w + i * (w / 10), 107'000);
    leak.sample(t0 + (LeakWatch::kRises + 3) * w, 107'000);
    CHECK_FALSE(leak.suspected());
  }
  SECTION("busy, but back to the same floor between bursts") {
    LeakWatch leak;
    for (int window = 0; window < 20; ++window)
      for (int i = 0; i < 10; ++i)
        leak.sample(t0 + window * w + i * (w / 10), 100'000 + (i == 0 ? 0 : window * 10'000));  // peaks rise
    CHECK_FALSE(leak.suspected());
  }
}

TEST_CASE("memory: a service leaking steadily is flagged on the virtual clock and logged once", "[memory_budget]") {
  logging::flush();
  const std::uint64_t before = logging::last_line_seq();
  Runtime runtime(test::virtual_options());
  std::vector<std::unique_ptr<char[]>> leaked;
  leaked.reserve(200);
  bool flagged_early = false;
  runtime.add(coroutine_service("leaky", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) {
      co_await ctx.sleep(1min);
      leaked.emplace_back(new char[2048]);  // kept forever: one every 80 s, the floor rises 15 KiB per window
      std::vector<char> scratch(100'000);    // busy too: a swing far larger than the leak, held 20 s
      scratch[0] = 1;
      co_await ctx.sleep(20s);
    }
  }));
  runtime.add(coroutine_service("steady", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    std::vector<std::unique_ptr<char[]>> working;
    working.reserve(64);
    for (;;) {
      co_await ctx.sleep(1min);
      for (int i = 0; i < 64; ++i) working.emplace_back(new char[1024]);
      co_await ctx.sleep(10s);
      working.clear();
    }
  }));
  runtime.add(coroutine_service("watcher", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(55min);  // under six full windows: never flagged yet
    flagged_early = test::snapshot_of(runtime, "leaky").stats.memory->leak.suspected();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(75min);
  REQUIRE(runtime.run() == kExitOk);
  logging::flush();
  CHECK_FALSE(flagged_early);
  CHECK(test::snapshot_of(runtime, "leaky").stats.memory->leak.suspected());
  CHECK_FALSE(test::snapshot_of(runtime, "steady").stats.memory->leak.suspected());
  CHECK(count_lines(before, "leaky", "suspected leak") == 1);
  CHECK(count_lines(before, "steady", "suspected leak") == 0);
}

TEST_CASE("memory: memory_limit is read as a size and checked with file:line", "[memory_budget][config]") {
  auto assemble = [](const std::string& toml) { return apps::assemble(Config::parse(toml, "box.toml")); };
  auto error = [&](const std::string& toml) -> std::string {
    try {
      assemble(toml);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error for: " + toml;
  };
  CHECK(assemble("[service.heartbeat]\nmemory_limit = \"512KiB\"\n").services.at(0).spec.memory_limit == 512 * 1024);
  CHECK(assemble("[service.heartbeat]\nmemory_limit = 65536\n").services.at(0).spec.memory_limit == 65536);
  CHECK(assemble("[service.heartbeat]\nmemory_limit = \"2MB\"\n").services.at(0).spec.memory_limit == 2'000'000);
  CHECK(assemble("[service.heartbeat]\n").services.at(0).spec.memory_limit == 0);  // absent: none
  const std::string bad = error("[service.heartbeat]\nperiod = \"1s\"\nmemory_limit = \"lots\"\n");
  CHECK_THAT(bad, Catch::StartsWith("box.toml:3") && Catch::Contains("service.heartbeat.memory_limit") &&
                      Catch::Contains("'lots' is not a size"));
  const std::string zero = error("[service.heartbeat]\nperiod = \"1s\"\nmemory_limit = \"0KiB\"\n");
  CHECK_THAT(zero, Catch::StartsWith("box.toml:3") && Catch::Contains("must be above 0") &&
                       Catch::Contains("leave it out for no limit"));
  CHECK_THAT(error("[service.heartbeat]\nmemory_limit = 0\n"), Catch::StartsWith("box.toml:2") &&
                                                                    Catch::Contains("must be above 0"));
  CHECK_THAT(error("[service.heartbeat]\nmemory_limit = -4096\n"),
             Catch::StartsWith("box.toml:2") && Catch::Contains("memory_limit"));
  CHECK_THAT(error("[service.heartbeat]\nmemory_limit = \"-4KiB\"\n"),
             Catch::StartsWith("box.toml:2") && Catch::Contains("is not a size"));
  CHECK_THAT(error("[service.heartbeat]\nmemory_limit = \"1000000GiB\"\n"),
             Catch::StartsWith("box.toml:2") && Catch::Contains("larger than the address space"));
  // On a service weftd does not know: the unknown service is what is wrong, at its table.
  CHECK_THAT(error("[service.heartbeet]\nmemory_limit = \"64KiB\"\n"),
             Catch::StartsWith("box.toml:1") && Catch::Contains("heartbeet"));
}

}  // namespace weft

namespace weft {
namespace memory_test {

volatile void* g_sink = nullptr;  // keeps each block observable, so no new/delete pair is elided

// ns per 64-byte allocate + free pair, `n` times (a figure, not a check).
template <class Alloc, class Free>
double ns_per_pair(int n, Alloc alloc, Free free) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    void* p = alloc();
    g_sink = p;
    free(p);
  }
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
}

}  // namespace memory_test

// A benchmark (hidden: `weft_tests "[.memory_bench]"`): what a block costs
// malloc'd directly (what operator new was, less its count), through
// operator new outside every service (a plain block: the free reads the
// word before it), and inside a tracked service (headered, charged).
TEST_CASE("memory: cost of an allocation, plain and tracked", "[.memory_bench]") {
  constexpr int kPairs = 2'000'000;
  Runtime runtime(test::virtual_options());
  double tracked = 0;
  runtime.add(coroutine_service("bench", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(1ms);
    tracked = ns_per_pair(kPairs, [] { return ::operator new(64); }, [](void* p) { ::operator delete(p); });
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == kExitOk);
  const double raw = ns_per_pair(kPairs, [] { return std::malloc(64); }, [](void* p) { std::free(p); });
  const double plain = ns_per_pair(kPairs, [] { return ::operator new(64); }, [](void* p) { ::operator delete(p); });
  std::printf("memory_bench malloc_free_ns=%.1f new_delete_plain_ns=%.1f new_delete_tracked_ns=%.1f\n", raw, plain,
              tracked);
}

}  // namespace weft
