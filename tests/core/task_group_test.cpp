// TaskGroup owns a service's children: join waits for all of them, the
// first failure cancels the siblings and is rethrown, and cancelling the
// joiner cancels the children but still waits for them to finish.
#include "weft/core/task_group.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"

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
