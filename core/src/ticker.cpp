// Ticker: absolute deadlines, missed ticks counted and skipped.
#include "weft/core/ticker.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

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
    const MonoTime now = timers_.clock().now();
    std::optional<AwaitSiteScope> site;
    if (stats_ != nullptr) site.emplace(*stats_, "ticker", loc, now);
    const bool cancelled_before = (co_await boost::asio::this_coro::cancellation_state).cancelled() !=
                                  boost::asio::cancellation_type::none;
    co_await detail::async_wait_until(timers_, next_, slack_, now, boost::asio::use_awaitable);
    // The wait's completion may already be queued when a cancellation comes (the other
    // side of `||` woke in the same expiry and won): the caller has given up on this
    // tick, so leave the schedule as it was rather than consume a tick nobody sees.
    if (!cancelled_before && (co_await boost::asio::this_coro::cancellation_state).cancelled() !=
                                 boost::asio::cancellation_type::none)
      throw boost::system::system_error(boost::asio::error::operation_aborted, "ticker");
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
