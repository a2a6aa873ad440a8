// TaskGroup owns a service's children: join waits for all of them, the
// first failure cancels the siblings and is rethrown, and cancelling the
// joiner cancels the children but still waits for them to finish. A stop
// is never lost (pending at join's entry, landing between a child's exit
// and the joiner's next park), and join leaves the service's own
// throw-on-cancel behaviour as it was.
#include "weft/core/task_group.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <optional>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "support/virtual_runtime.hpp"

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

template <typename Body>
void in_service(Body body) {
  weft::Runtime rt({.virtual_time = true, .handle_signals = false});
  bool finished = false;
  rt.add(weft::coroutine_service("test", {}, {}, [&](weft::Context& ctx) -> asio::awaitable<void> {
    ctx.ready();
    co_await body(ctx);
    finished = true;
    co_await ctx.sleep(1h);
  }));
  rt.stop_after(10min);
  REQUIRE(rt.run() == weft::kExitOk);
  REQUIRE(finished);
}

// Coroutines take what they use as parameters: a lambda's captures would
// die with the temporary closure while the frame lives on.
asio::awaitable<void> sleep_then_record(weft::Context& ctx, std::vector<int>& done, int i) {
  co_await ctx.sleep(i * 10ms);
  done.push_back(i);
}

asio::awaitable<void> sleep_long_noting_cancel(weft::Context& ctx, bool& cancelled) {
  try {
    co_await ctx.sleep(1h);
  } catch (const boost::system::system_error& e) {
    cancelled = e.code() == asio::error::operation_aborted;
    throw;
  }
}

asio::awaitable<void> fail_soon(weft::Context& ctx) {
  co_await ctx.sleep(5ms);
  throw std::runtime_error("bus 2: port vanished");
}

asio::awaitable<void> slow_cleanup(weft::Context& ctx, bool& cleaned_up) {
  try {
    co_await ctx.sleep(1h);
  } catch (...) {
  }
  co_await asio::this_coro::reset_cancellation_state();
  co_await ctx.sleep(50ms);  // cleanup that takes time must not be abandoned
  cleaned_up = true;
}

asio::awaitable<void> note_start_then_sleep(weft::Context& ctx, bool& started) {
  started = true;
  co_await ctx.sleep(1h);
}

asio::awaitable<void> sleep_then_return(weft::Context& ctx, weft::Duration d) { co_await ctx.sleep(d); }

// Blocking work during which the service "svc" is stopped: the pool thread
// asks the loop to stop it and waits until it has, so the stop lands while
// the service waits on ctx.blocking (which is not cancellable).
asio::awaitable<void> stopped_during_blocking(weft::Context& ctx, weft::Runtime& rt) {
  bool stop_landed = false;  // set on the pool thread, read after ctx.blocking (which synchronises)
  std::function<void()> work = [&rt, &stop_landed] {
    std::promise<void> stopped;
    asio::post(rt.io_context(), [&rt, &stopped] {
      rt.stop_service("svc");
      stopped.set_value();
    });
    stop_landed = stopped.get_future().wait_for(10s) == std::future_status::ready;
  };
  co_await ctx.blocking(std::move(work));
  CHECK(stop_landed);
}

// How a service run under a stop ended: when (virtual ms since start, or
// nullopt if it never exited: abandoned after the grace), and whether it
// ended by the stop (operation_aborted).
struct StopOutcome {
  std::optional<std::int64_t> exited_ms;
  bool aborted = false;
  std::string state;
};

// Runs `body(ctx, runtime)` as service "svc" until a stop at `stop_at`;
// the stop grace is 5 s, so an exit after it never happens here.
template <typename Body>
StopOutcome run_until_stopped(weft::Duration stop_at, Body body) {
  weft::Runtime rt(weft::test::virtual_options());
  StopOutcome out;
  rt.add(weft::coroutine_service("svc", {}, {}, [&](weft::Context& ctx) -> asio::awaitable<void> {
    ctx.ready();
    try {
      co_await body(ctx, rt);
    } catch (const boost::system::system_error& e) {
      out.aborted = weft::test::is_operation_aborted(e);
      out.exited_ms = weft::test::ms_since_start(ctx.clock().now());
      throw;
    }
    out.exited_ms = weft::test::ms_since_start(ctx.clock().now());
  }));
  rt.stop_after(stop_at);
  REQUIRE(rt.run() == weft::kExitOk);
  out.state = weft::test::snapshot_of(rt, "svc").state;
  return out;
}

}  // namespace

TEST_CASE("join waits for every child", "[task_group]") {
  in_service([](weft::Context& ctx) -> asio::awaitable<void> {
    weft::TaskGroup group(ctx.executor());
    std::vector<int> done;
    for (int i = 1; i <= 3; ++i) group.spawn(sleep_then_record(ctx, done, i));
    CHECK(group.running() == 3);
    co_await group.join();
    CHECK(done == std::vector<int>{1, 2, 3});
    CHECK(group.running() == 0);
  });
}

TEST_CASE("the first failure cancels the siblings and is rethrown by join", "[task_group]") {
  in_service([](weft::Context& ctx) -> asio::awaitable<void> {
    weft::TaskGroup group(ctx.executor());
    bool sibling_cancelled = false;
    group.spawn(sleep_long_noting_cancel(ctx, sibling_cancelled));
    group.spawn(fail_soon(ctx));
    const weft::MonoTime started = ctx.clock().now();
    std::string what;
    try {
      co_await group.join();
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    CHECK(what == "bus 2: port vanished");
    CHECK(sibling_cancelled);
    CHECK(ctx.clock().now() - started < 1s);  // the hour-long sibling did not hold join
  });
}

TEST_CASE("cancelling join cancels the children and still waits for their cleanup", "[task_group]") {
  in_service([](weft::Context& ctx) -> asio::awaitable<void> {
    weft::TaskGroup group(ctx.executor());
    bool cleaned_up = false;
    group.spawn(slow_cleanup(ctx, cleaned_up));
    auto result = co_await (group.join() || ctx.sleep(10ms));
    CHECK(result.index() == 1);
    CHECK(cleaned_up);  // join returned only after the child finished
    CHECK(group.running() == 0);
  });
}

// Defect 1 of issue 9, record's pattern: a stop recorded while the service
// was in an uncancellable wait (ctx.blocking) makes `co_await group.join()`
// throw before join runs. The group is then destroyed at once: no child may
// have started, or it would outlive the group (and write into it).
TEST_CASE("a join that throws on entry (stop pending) leaves no child started", "[task_group]") {
  bool started = false;
  bool group_gone_before_child_ran = false;
  const StopOutcome out = run_until_stopped(1h, [&](weft::Context& ctx, weft::Runtime& rt) -> asio::awaitable<void> {
    try {
      co_await ctx.sleep(5ms);
      co_await stopped_during_blocking(ctx, rt);
      weft::TaskGroup group(ctx.executor());
      group.spawn(note_start_then_sleep(ctx, started));
      CHECK(group.running() == 1);  // queued
      co_await group.join();        // throws on entry (throw-on-cancel)
    } catch (...) {
      group_gone_before_child_ran = !started;
      throw;
    }
  });
  CHECK(group_gone_before_child_ran);
  CHECK_FALSE(started);
  REQUIRE(out.exited_ms);
  CHECK(*out.exited_ms == 5);
  CHECK(out.aborted);
  CHECK(out.state == "stopped");
}

// Defect 2 of issue 9: the stop lands 1 ns after a child's exit, inside the
// same timer expiry (the child's sleep has slack), before the joiner has
// parked again. It must still cancel the sibling and end the service.
TEST_CASE("a stop landing 1 ns after a child's exit still cancels the siblings", "[task_group]") {
  bool sibling_cancelled = false;
  const StopOutcome out =
      run_until_stopped(100ms + std::chrono::nanoseconds(1), [&](weft::Context& ctx, weft::Runtime&) -> asio::awaitable<void> {
        weft::TaskGroup group(ctx.executor());
        group.spawn(sleep_then_return(ctx, 100ms));
        group.spawn(sleep_long_noting_cancel(ctx, sibling_cancelled));
        co_await group.join();
      });
  CHECK(sibling_cancelled);
  REQUIRE(out.exited_ms);  // not abandoned after the grace
  CHECK(*out.exited_ms >= 100);
  CHECK(*out.exited_ms <= 102);
  CHECK(out.aborted);
  CHECK(out.state == "stopped");
}

TEST_CASE("a stop pending when join is entered with throw-on-cancel off starts no child and throws", "[task_group]") {
  bool started = false;
  bool throws_after = false;
  const StopOutcome out = run_until_stopped(1h, [&](weft::Context& ctx, weft::Runtime& rt) -> asio::awaitable<void> {
    co_await ctx.sleep(5ms);
    weft::TaskGroup group(ctx.executor());
    group.spawn(note_start_then_sleep(ctx, started));
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await stopped_during_blocking(ctx, rt);
    std::exception_ptr stopped;
    try {
      co_await group.join();
    } catch (...) {
      stopped = std::current_exception();  // no co_await inside a handler
    }
    throws_after = co_await asio::this_coro::throw_if_cancelled();
    if (stopped) std::rethrow_exception(stopped);
  });
  CHECK_FALSE(started);
  CHECK_FALSE(throws_after);  // the caller's setting is kept, off as it was
  REQUIRE(out.exited_ms);
  CHECK(*out.exited_ms == 5);
  CHECK(out.aborted);
}

// Defect 3 of issue 9: Asio keeps throw-on-cancel per coroutine thread;
// join must hand it back on. Here the stop lands while the service waits
// on blocking work (not cancellable); the next co_await must throw.
TEST_CASE("a stop during blocking work after a join ends the service at its next co_await", "[task_group]") {
  bool slept_on = false;
  const StopOutcome out = run_until_stopped(1h, [&](weft::Context& ctx, weft::Runtime& rt) -> asio::awaitable<void> {
    {
      weft::TaskGroup group(ctx.executor());
      group.spawn(sleep_then_return(ctx, 10ms));
      co_await group.join();
    }
    const bool throws_after_join = co_await asio::this_coro::throw_if_cancelled();
    CHECK(throws_after_join);
    co_await stopped_during_blocking(ctx, rt);
    co_await ctx.sleep(1h);
    slept_on = true;
  });
  CHECK_FALSE(slept_on);
  REQUIRE(out.exited_ms);  // not abandoned after the grace
  CHECK(*out.exited_ms == 10);
  CHECK(out.aborted);
  CHECK(out.state == "stopped");
}

TEST_CASE("join restores throw-on-cancel after a child's failure", "[task_group]") {
  in_service([](weft::Context& ctx) -> asio::awaitable<void> {
    weft::TaskGroup group(ctx.executor());
    group.spawn(fail_soon(ctx));
    try {
      co_await group.join();
    } catch (const std::runtime_error&) {
    }
    const bool after_failure = co_await asio::this_coro::throw_if_cancelled();
    CHECK(after_failure);
  });
}

// The stop stays pending after join has thrown: a service that catches it
// to do more work must reset its cancellation state first (the console does).
TEST_CASE("the stop stays pending after join has thrown so the next co_await throws too", "[task_group]") {
  bool sibling_cancelled = false;
  bool slept_on = false;
  const StopOutcome out = run_until_stopped(50ms, [&](weft::Context& ctx, weft::Runtime&) -> asio::awaitable<void> {
    weft::TaskGroup group(ctx.executor());
    group.spawn(sleep_long_noting_cancel(ctx, sibling_cancelled));
    std::exception_ptr stopped;
    try {
      co_await group.join();
    } catch (...) {
      stopped = std::current_exception();
    }
    CHECK(stopped);
    co_await ctx.sleep(1h);
    slept_on = true;
  });
  CHECK(sibling_cancelled);
  CHECK_FALSE(slept_on);
  REQUIRE(out.exited_ms);
  CHECK(*out.exited_ms == 50);
  CHECK(out.aborted);
}

TEST_CASE("a child spawns a sibling while join runs and join waits for it", "[task_group]") {
  in_service([](weft::Context& ctx) -> asio::awaitable<void> {
    weft::TaskGroup group(ctx.executor());
    std::vector<int> done;
    struct Spawner {
      static asio::awaitable<void> run(weft::Context& ctx, weft::TaskGroup& group, std::vector<int>& done) {
        co_await ctx.sleep(5ms);
        group.spawn(sleep_then_record(ctx, done, 2));
        done.push_back(1);
      }
    };
    group.spawn(Spawner::run(ctx, group, done));
    co_await group.join();
    CHECK(done == std::vector<int>{1, 2});
    CHECK(group.running() == 0);
  });
}
