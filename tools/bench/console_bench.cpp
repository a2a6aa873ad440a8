// `weft-bench console`: the console under load, on the real clock.
//  1. round trip of `services` with N services registered (client in a
//     thread of this process, one request at a time): p50, p99, max;
//  2. loop lag (how late a 10 ms zero-slack ticker fires) while a service
//     logs steadily, first with no console client, then with C clients
//     all running a live `log tail`: p50, p99, max of each.
// The clients read every frame (a thread polling all their sockets), so
// the figures are the console's cost, not a stalled reader's.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "bench_support.hpp"
#include "benches.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/console/console_protocol.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))]; };
  return {at(0.50), at(0.99), v.back()};
}

// The box: N idle services (each waits on a 1 s ticker), a chatter logging
// every `log_period`, a lag probe, and the console.
class Box {
public:
  Box(const ConsoleArgs& a, const std::string& socket) {
    auto assembly = apps::assemble(Config::parse("[service.console]\nsocket = \"" + socket +
                                                     "\"\nmax_clients = 1000\noutput_buffer = 1048576\n",
                                                 "console-bench.toml"));
    assembly.options.handle_signals = false;
    runtime_ = std::make_unique<Runtime>(assembly.options);
    apps::add_services(*runtime_, assembly);
    for (int i = 0; i < a.services; ++i)
      runtime_->add(coroutine_service("svc" + std::to_string(i), {}, {}, [](Context& ctx) -> boost::asio::awaitable<void> {
        Ticker t = ctx.ticker(std::chrono::seconds(1));
        ctx.ready();
        for (;;) co_await t.next();
      }));
    const Duration log_period = std::chrono::microseconds(static_cast<std::int64_t>(1e6 / a.log_lines_per_s));
    runtime_->add(coroutine_service("chatter", {}, {}, [log_period](Context& ctx) -> boost::asio::awaitable<void> {
      Ticker t = ctx.ticker(log_period);
      ctx.ready();
      for (std::uint64_t n = 0;; ++n) {
        co_await t.next();
        ctx.log().info("chatter line {} with some text to make it a realistic length", n);
      }
    }));
    runtime_->add(coroutine_service("probe", {}, {}, [this](Context& ctx) -> boost::asio::awaitable<void> {
      Ticker t = ctx.ticker(std::chrono::milliseconds(10), TickerOptions{Duration::zero(), {}});
      ctx.ready();
      for (;;) {
        const Tick tick = co_await t.next();
        if (recording_) lag_us_.push_back(std::chrono::duration<double, std::micro>(ctx.clock().now() - tick.scheduled).count());
      }
    }));
    loop_ = std::thread([this] { runtime_->run(); });
  }
  ~Box() {
    boost::asio::post(runtime_->io_context(), [this] { runtime_->request_stop(); });
    loop_.join();
  }

  // Records loop lag for `seconds` (the probe runs on the loop; the flag is read there).
  Percentiles lag_over(double seconds) {
    boost::asio::post(runtime_->io_context(), [this] {
      lag_us_.clear();
      recording_ = true;
    });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    std::vector<double> copy;
    std::atomic<bool> copied{false};
    boost::asio::post(runtime_->io_context(), [&] {
      recording_ = false;
      copy = lag_us_;
      copied = true;
    });
    while (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    samples_ = copy.size();
    return percentiles(std::move(copy));
  }
  std::size_t samples() const noexcept { return samples_; }

private:
  std::unique_ptr<Runtime> runtime_;
  std::thread loop_;
  bool recording_ = false;       // loop thread only
  std::vector<double> lag_us_;   // loop thread only
  std::size_t samples_ = 0;
};

}  // namespace

int run_console(const ConsoleArgs& a) {
  logging::set_default_level(*logging::parse_level(a.log_level));
  TempDir dir("weft-console-bench");
  const std::string socket = dir.file("weftd.sock");
  Figures fig("console");
  fig.host();
  Box box(a, socket);
  ConsoleClient client(socket);
  for (int i = 0; i < 20; ++i) client.request("services");  // warm-up

  std::vector<double> rtt_us;
  for (int i = 0; i < a.requests; ++i) {
    const auto t0 = Clock::now();
    const auto reply = client.request("services");
    rtt_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (reply.kind != console::FrameKind::ok) throw std::runtime_error("console bench: services failed");
  }
  const Percentiles rtt = percentiles(rtt_us);
  fig.count("services", static_cast<std::uint64_t>(a.services) + 3);
  fig.count("requests", static_cast<std::uint64_t>(a.requests));
  fig.num("rtt_us_p50", rtt.p50, 1);
  fig.num("rtt_us_p99", rtt.p99, 1);
  fig.num("rtt_us_max", rtt.max, 1);

  const Percentiles idle = box.lag_over(a.seconds);
  fig.count("lag_samples_no_tail", box.samples());
  fig.num("lag_us_p50_no_tail", idle.p50, 1);
  fig.num("lag_us_p99_no_tail", idle.p99, 1);
  fig.num("lag_us_max_no_tail", idle.max, 1);

  // C tailing clients; one thread drains them all so they never stall.
  std::vector<std::unique_ptr<ConsoleClient>> tails;
  for (int i = 0; i < a.clients; ++i) {
    tails.push_back(std::make_unique<ConsoleClient>(socket));
    const std::string line = "log tail -n 0 chatter\n";
    if (::send(tails.back()->fd(), line.data(), line.size(), MSG_NOSIGNAL) < 0)
      throw std::runtime_error("console bench: send failed");
  }
  std::atomic<bool> draining{true};
  std::atomic<std::uint64_t> bytes{0};
  std::thread drain([&] {
    std::vector<pollfd> fds;
    for (auto& t : tails) fds.push_back({t->fd(), POLLIN, 0});
    char buf[65536];
    while (draining) {
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (auto& p : fds)
        if (p.revents & POLLIN) {
          const ssize_t n = ::recv(p.fd, buf, sizeof buf, 0);
          if (n > 0) bytes += static_cast<std::uint64_t>(n);
        }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the tails are live
  const std::uint64_t bytes_before = bytes;
  const Percentiles tailing = box.lag_over(a.seconds);
  const std::uint64_t tailed = bytes - bytes_before;
  draining = false;
  drain.join();
  fig.count("tail_clients", static_cast<std::uint64_t>(a.clients));
  fig.num("tail_bytes_per_s", static_cast<double>(tailed) / a.seconds, 0);
  fig.count("lag_samples_tailing", box.samples());
  fig.num("lag_us_p50_tailing", tailing.p50, 1);
  fig.num("lag_us_p99_tailing", tailing.p99, 1);
  fig.num("lag_us_max_tailing", tailing.max, 1);
  fig.host();
  return 0;
}

}  // namespace weft::bench
