// Point writes (point_writes.hpp): one writer per point, registrations that
// remove themselves, and the asker's wait: woken by complete(), bounded by
// its timeout (the request then abandoned), and a cancellation that
// abandons and throws.
#include "weft/core/point_writes.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace weft;
using namespace std::chrono_literals;

namespace {
struct PwHolder final : PointWriter {
  std::shared_ptr<PendingWrite> held;
  void submit(std::shared_ptr<PendingWrite> r) override { held = std::move(r); }
};
}  // namespace

TEST_CASE("point writes: one writer per point, removed with its registration", "[core]") {
  PointWrites writes;
  PwHolder a, b;
  {
    auto reg = writes.add("boiler.sp", a);
    CHECK(writes.find("boiler.sp") == &a);
    CHECK_THROWS_AS(writes.add("boiler.sp", b), std::logic_error);
    auto moved = std::move(reg);
    CHECK(writes.find("boiler.sp") == &a);
  }
  CHECK(writes.find("boiler.sp") == nullptr);
  CHECK(writes.size() == 0);
}

TEST_CASE("point writes: changes() moves on every add and removal, not on a failed add or a move", "[core]") {
  PointWrites writes;
  PwHolder a, b;
  CHECK(writes.changes() == 0);
  auto reg = writes.add("boiler.sp", a);
  CHECK(writes.changes() == 1);
  CHECK_THROWS_AS(writes.add("boiler.sp", b), std::logic_error);
  CHECK(writes.changes() == 1);
  auto moved = std::move(reg);
  reg.reset();  // moved from: owns nothing
  CHECK(writes.changes() == 1);
  moved.reset();
  CHECK(writes.changes() == 2);
  moved.reset();  // twice: nothing more
  CHECK(writes.changes() == 2);
}

TEST_CASE("point writes: the asker wakes when the owner answers", "[core]") {
  boost::asio::io_context ioc;
  auto req = std::make_shared<PendingWrite>("p", Value{1.0}, "test");
  std::optional<WriteOutcome> got;
  boost::asio::co_spawn(ioc, [&]() -> boost::asio::awaitable<void> { got = co_await req->wait(10s); },
                        [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  boost::asio::steady_timer later(ioc, 20ms);
  later.async_wait([&](auto) { req->fail("exception 2 (illegal data address)"); });
  const auto t0 = std::chrono::steady_clock::now();
  ioc.run();
  REQUIRE(got);
  CHECK_FALSE(got->ok);
  CHECK(got->error == "exception 2 (illegal data address)");
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK_FALSE(req->abandoned());
  req->succeed();  // a second answer is ignored
  CHECK(req->done());
}

TEST_CASE("point writes: no answer within the timeout abandons the request", "[core]") {
  boost::asio::io_context ioc;
  auto req = std::make_shared<PendingWrite>("boiler.sp", Value{1.0}, "test");
  std::optional<WriteOutcome> got;
  boost::asio::co_spawn(ioc, [&]() -> boost::asio::awaitable<void> { got = co_await req->wait(30ms); },
                        [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  ioc.run();
  REQUIRE(got);
  CHECK_FALSE(got->ok);
  CHECK(got->error.find("no answer from the owner of boiler.sp within 30 ms") != std::string::npos);
  CHECK(req->abandoned());
  req->succeed();  // a late answer touches no dead waiter
}

TEST_CASE("point writes: a cancelled wait abandons the request and throws", "[core]") {
  using namespace boost::asio::experimental::awaitable_operators;
  boost::asio::io_context ioc;
  auto req = std::make_shared<PendingWrite>("p", Value{1.0}, "test");
  bool threw = false;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer stop(co_await boost::asio::this_coro::executor, 20ms);
        try {
          co_await (req->wait(10s) || stop.async_wait(boost::asio::use_awaitable));
        } catch (const boost::system::system_error&) {
          threw = true;
        }
      },
      [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  ioc.run();
  CHECK(req->abandoned());  // the timer won: the wait was cancelled
  CHECK_FALSE(threw);       // (the || swallows the loser's exception)
  req->succeed();
}
