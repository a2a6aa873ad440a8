// The bare-Asio side of `weft-bench services`: the same workload with no
// runtime — one io_context(1), N co_spawned coroutines, each with its own
// steady_timer, drift-free (expires_at(next); next += period), same phases,
// same lateness/wakeup/CPU window (an observer coroutine) and same RSS reading.
#include <cstdio>
#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "workload.hpp"

namespace weft::bench {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Shared {
  Workload work;
  Probe probe;
  MonoTime run_started{};
};

asio::awaitable<void> ticking_coroutine(Shared& s, std::uint32_t i) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  MonoTime next = s.work.first_deadline(i, Clock::now());
  bool first = true;
  for (;;) {
    timer.expires_at(next);
    co_await timer.async_wait(asio::use_awaitable);
    const MonoTime woke = Clock::now();
    s.probe.on_tick(woke - next, 0);
    if (first) {
      first = false;
      s.probe.first_tick(woke, s.work.count);
    }
    next += s.work.period;
  }
}

asio::awaitable<void> sleep_until(asio::steady_timer& timer, MonoTime t) {
  timer.expires_at(t);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<std::int64_t> all_started(asio::steady_timer& timer, Shared& s) {
  while (s.probe.started < s.work.count) co_await sleep_until(timer, Clock::now() + s.work.period);
  co_return ns_since(s.run_started, s.probe.all_started_at);
}

asio::awaitable<void> observer(asio::io_context& ioc, Shared& s) {
  asio::steady_timer timer(ioc);
  const MonoTime t0 = Clock::now();
  const Workload& w = s.work;
  ResultLine line;
  line.add("impl", std::string("bare")).add("services", static_cast<std::uint64_t>(w.count));
  if (w.mode == Mode::rss) {
    const std::int64_t startup_ns = co_await all_started(timer, s);
    co_await sleep_until(timer, Clock::now() + 2 * w.period);
    line.add("rss_kib", read_vmrss_kib()).add("heap_bytes", heap_in_use_bytes()).add("startup_ns", startup_ns);
  } else {
    co_await sleep_until(timer, t0 + w.warmup);
    const std::int64_t startup_ns = co_await all_started(timer, s);
    Window window;
    window.open(s.probe);
    co_await sleep_until(timer, Clock::now() + w.window);
    window.close(s.probe, line);
    line.add("startup_ns", startup_ns);
  }
  line.print();
  if (w.mode == Mode::rss) std::_Exit(0);  // a memory probe: teardown is not what we measure
  ioc.stop();
}

}  // namespace

int run_bare_child(Workload w) {
  Shared s;  // outlives the io_context (the frames refer to it)
  s.work = w;
  asio::io_context ioc(1);
  s.work.epoch = Clock::now();
  s.run_started = s.work.epoch;  // startup_ns: from creating the coroutines to all of them ticking
  for (std::uint32_t i = 0; i < w.count; ++i) asio::co_spawn(ioc, ticking_coroutine(s, i), asio::detached);
  asio::co_spawn(ioc, observer(ioc, s), asio::detached);
  ioc.run();
  if (s.probe.started < w.count) {
    std::fprintf(stderr, "weft-bench: only %llu of %zu coroutines started\n",
                 static_cast<unsigned long long>(s.probe.started), w.count);
    return 1;
  }
  return 0;
}

}  // namespace weft::bench
