// Critical sections (weft/core/critical_section.hpp): counted runs with no
// allocation when none happens; an allocation counted with its call site
// (this file, named by `rt`); page faults and duration measured; a section
// left open across a co_await counted as suspended and not charged with
// what other services allocate meanwhile; abort mode printing the
// allocation and a stack trace, then aborting (in a forked child).
#include "weft/core/critical_section.hpp"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/virtual_runtime.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/service.hpp"

using namespace std::chrono_literals;

namespace weft {
namespace {

// Keeps the compiler from removing an allocation it can see is unused.
[[gnu::noinline]] void cs_keep(void* p) { asm volatile("" : : "r"(p) : "memory"); }

int cs_square_sum(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) sum += i * i;
  return sum;
}

}  // namespace

TEST_CASE("critical section: runs counted, allocations counted with their site, shown by rt", "[realtime][critical]") {
  set_critical_allocation_mode(CriticalAllocation::count);
  Runtime runtime(test::virtual_options());
  CommandReply rt;
  volatile int sink = 0;
  runtime.add(coroutine_service("control", {}, {}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    for (int i = 0; i < 100; ++i) {
      {
        const CriticalSection cs = ctx.critical();
        sink = sink + cs_square_sum(50);
      }
      co_await ctx.sleep(1ms);
    }
    {
      const CriticalSection cs = ctx.critical();
      char* block = new char[101];  // the one allocation
      cs_keep(block);
      delete[] block;
    }
    rt = co_await runtime.commands().run("rt", {});
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == kExitOk);
  INFO(rt.text);
  REQUIRE(rt.ok);
  CHECK_THAT(rt.text, Catch::Contains("control: 101 runs, 1 allocations (101 bytes; the latest at "));
  CHECK_THAT(rt.text, Catch::Contains("critical_section_test.cpp:"));
  CHECK_THAT(rt.text, Catch::Contains("0 suspended"));
}

TEST_CASE("critical section: page faults and duration are measured", "[realtime][critical]") {
  CriticalStats stats;
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(page != MAP_FAILED);
  {
    const CriticalSection cs(stats);
    static_cast<volatile char*>(page)[0] = 1;  // the first touch of a fresh page: a minor fault
    const auto until = std::chrono::steady_clock::now() + 2ms;
    while (std::chrono::steady_clock::now() < until) {
    }
  }
  ::munmap(page, 4096);
  CHECK(stats.runs == 1);
  CHECK(stats.minor_faults >= 1);
  CHECK(stats.durations.max() >= 2ms);
  CHECK(stats.allocations == 0);
}

TEST_CASE("critical section: a co_await inside is counted as suspended, others' allocations not charged",
          "[realtime][critical]") {
  set_critical_allocation_mode(CriticalAllocation::count);
  Runtime runtime(test::virtual_options());
  CommandReply rt;
  runtime.add(coroutine_service("misuser", {}, {}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    {
      const CriticalSection cs = ctx.critical();
      co_await ctx.sleep(5ms);  // wrong: the section spans a suspension
    }
    co_await ctx.sleep(20ms);
    rt = co_await runtime.commands().run("rt", {});
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(coroutine_service("allocator", {}, {}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    for (;;) {
      auto block = std::make_unique<char[]>(64);
      cs_keep(block.get());
      co_await ctx.sleep(1ms);
    }
  }));
  REQUIRE(runtime.run() == kExitOk);
  INFO(rt.text);
  CHECK_THAT(rt.text, Catch::Contains("misuser: 1 runs, 0 allocations"));
  CHECK_THAT(rt.text, Catch::Contains("1 suspended"));
}

TEST_CASE("critical section: abort mode prints the allocation and a stack trace, then aborts", "[realtime][critical]") {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    std::signal(SIGABRT, SIG_DFL);  // not Catch's handler: the parent judges the death
    set_critical_allocation_mode(CriticalAllocation::abort);
    CriticalStats stats;
    const CriticalSection cs(stats);
    char* block = new char[201];
    cs_keep(block);
    ::_exit(0);  // not reached
  }
  ::close(pipe_fds[1]);
  std::string err;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO(err);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK_THAT(err, Catch::Contains("weft: allocation of 201 bytes inside a critical section, at "));
  CHECK_THAT(err, Catch::Contains("critical_section_test.cpp:"));
  CHECK_THAT(err, Catch::Contains("; stack:"));
}

}  // namespace weft

// Review regression: a section open when a co_await resumes inline (a nested
// slice: asio::dispatch, a co_spawn'd child finishing) and closed inside that
// nested slice. The nested SliceScope's end restores the section it saw open
// at its start (service_stats.cpp ~SliceScope -> end_slice_criticals), i.e.
// a destroyed CriticalSection, and the outer slice's end then walks it.
namespace weft {
namespace {
boost::asio::awaitable<void> cs_review_child(Context& ctx) {
  const CriticalSection cs = ctx.critical();
  co_await boost::asio::dispatch(boost::asio::use_awaitable);  // resumes inline, in a nested slice
}  // cs closed inside the nested slice; this frame is freed on return
}  // namespace

TEST_CASE("critical section: closed inside an inline resumption is neither suspended nor left current",
          "[realtime][critical]") {
  set_critical_allocation_mode(CriticalAllocation::count);
  Runtime runtime(test::virtual_options());
  CommandReply rt;
  runtime.add(coroutine_service("inliner", {}, {}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(1ms);
    co_await cs_review_child(ctx);
    co_await ctx.sleep(1ms);  // the nested slice ends here, then the outer one
    rt = co_await runtime.commands().run("rt", {});
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == kExitOk);
  INFO(rt.text);
  CHECK_THAT(rt.text, Catch::Contains("inliner: 1 runs, 0 allocations"));
  CHECK_THAT(rt.text, Catch::Contains("0 suspended"));
}
}  // namespace weft
