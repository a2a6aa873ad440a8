// The in-memory pipe behaves as a byte stream: ordered delivery both ways,
// EOF and broken_pipe when the peer goes, per-operation cancellation (a
// read raced against a timer completes when the timer wins), bounded size.
#include "weft/drivers/pipe_stream.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

// Runs `body` to completion on a fresh io_context, rethrowing its exception.
template <typename Body>
void run_coroutine(Body body) {
  asio::io_context ioc(1);
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(ioc, body(ioc.get_executor()), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  ioc.run_for(std::chrono::seconds(10));
  REQUIRE(done);
  if (error) std::rethrow_exception(error);
}

}  // namespace

TEST_CASE("pipe delivers bytes in order in both directions", "[pipe]") {
  run_coroutine([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto [a, b] = weft::make_pipe(ex);
    co_await asio::async_write(*a, asio::buffer(std::string("hello ")), asio::use_awaitable);
    co_await asio::async_write(*a, asio::buffer(std::string("world")), asio::use_awaitable);
    std::string got(11, '\0');
    co_await asio::async_read(*b, asio::buffer(got), asio::use_awaitable);
    CHECK(got == "hello world");

    co_await asio::async_write(*b, asio::buffer(std::string("back")), asio::use_awaitable);
    std::string back(4, '\0');
    co_await asio::async_read(*a, asio::buffer(back), asio::use_awaitable);
    CHECK(back == "back");
    CHECK(a->available() == 0);
  });
}

TEST_CASE("a reader parked before the write is woken by it", "[pipe]") {
  run_coroutine([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto [a, b] = weft::make_pipe(ex);
    asio::steady_timer later(ex, std::chrono::milliseconds(1));
    std::array<char, 8> buf{};
    auto reader = b->async_read_some(asio::buffer(buf), asio::use_awaitable);
    auto writer = [&]() -> asio::awaitable<void> {
      co_await later.async_wait(asio::use_awaitable);
      co_await asio::async_write(*a, asio::buffer(std::string("xyz")), asio::use_awaitable);
    };
    const std::size_t n = co_await (std::move(reader) && writer());  // && drops the void result
    CHECK(std::string(buf.data(), n) == "xyz");
  });
}

TEST_CASE("a read raced against a timer is cancelled when the timer wins, and the pipe stays usable", "[pipe]") {
  run_coroutine([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto [a, b] = weft::make_pipe(ex);
    std::array<char, 8> buf{};
    asio::steady_timer timer(ex, std::chrono::milliseconds(5));
    auto result = co_await (b->async_read_some(asio::buffer(buf), asio::use_awaitable) ||
                            timer.async_wait(asio::use_awaitable));
    CHECK(result.index() == 1);  // the timer won; the read was cancelled, not abandoned

    co_await asio::async_write(*a, asio::buffer(std::string("ok")), asio::use_awaitable);
    const std::size_t n = co_await b->async_read_some(asio::buffer(buf), asio::use_awaitable);
    CHECK(std::string(buf.data(), n) == "ok");
  });
}

TEST_CASE("destroying one end gives the other EOF after the buffered bytes, and broken_pipe on write", "[pipe]") {
  run_coroutine([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto [a, b] = weft::make_pipe(ex);
    co_await asio::async_write(*a, asio::buffer(std::string("last")), asio::use_awaitable);
    a.reset();
    std::array<char, 8> buf{};
    const std::size_t n = co_await b->async_read_some(asio::buffer(buf), asio::use_awaitable);
    CHECK(std::string(buf.data(), n) == "last");
    auto [ec, m] = co_await b->async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    CHECK(ec == asio::error::eof);
    CHECK(m == 0);
    auto [wec, w] = co_await b->async_write_some(asio::buffer(std::string("x")), asio::as_tuple(asio::use_awaitable));
    CHECK(wec == asio::error::broken_pipe);
    CHECK(w == 0);
  });
}

TEST_CASE("a write that would exceed the pipe's capacity fails instead of growing memory", "[pipe]") {
  run_coroutine([](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto [a, b] = weft::make_pipe(ex);
    std::vector<char> big(weft::PipeEnd::kCapacity + 1, 'x');
    auto [ec, n] = co_await a->async_write_some(asio::buffer(big), asio::as_tuple(asio::use_awaitable));
    CHECK(ec == asio::error::no_buffer_space);
    CHECK(n == 0);
    CHECK(b->available() == 0);
    b->discard_input();
  });
}
