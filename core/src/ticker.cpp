// Ticker: absolute deadlines, missed ticks counted and skipped.
#include "weft/core/ticker.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/asio/use_awaitable.hpp>

#include "timer_wait.hpp"
#include "weft/core/service_stats.hpp"

namespace weft {

Duration default_slack(Duration period) noexcept {
  return std::min<Duration>(period / 100, std::chrono::milliseconds(5));
}

Ticker::Ticker(TimerQueue& timers, ServiceStats* stats, Duration period, TickerOptions options)
    : timers_(timers),
      stats_(stats),
      period_(period),
      slack_(options.slack.value_or(default_slack(period))),
      next_(timers.clock().now() + options.first_delay.value_or(period)) {
  if (period <= Duration::zero()) throw std::invalid_argument("ticker: period must be positive");
}

boost::asio::awaitable<Tick> Ticker::next(std::source_location loc) {
  {
    std::optional<AwaitSiteScope> site;
    if (stats_ != nullptr) site.emplace(*stats_, "ticker", loc, timers_.clock().now());
    co_await detail::async_wait_until(timers_, next_, slack_, boost::asio::use_awaitable);
  }
  co_return advance(timers_.clock().now());
}

Tick Ticker::advance(MonoTime now) noexcept {
  Tick tick{next_, 0};
  // Woken at `now`: if whole periods have passed since the deadline, the
  // latest deadline not after `now` is this tick and the ones before it are missed.
  if (now - next_ >= period_) {
    tick.missed = static_cast<std::uint64_t>((now - next_) / period_);
    tick.scheduled = next_ + tick.missed * period_;
  }
  missed_total_ += tick.missed;
  ++ticks_;
  next_ = tick.scheduled + period_;
  return tick;
}

}  // namespace weft
