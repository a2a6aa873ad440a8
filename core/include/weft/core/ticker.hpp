// A drift-free periodic ticker: deadlines are start + k * period, never
// "now + period", so lateness does not accumulate. When the caller falls
// behind by whole periods, those ticks are counted as missed and skipped,
// not delivered in a burst. Each wait carries a slack (default: 1 % of the
// period, capped at 5 ms) that lets the runtime coalesce wakeups.
#pragma once

#include <cstdint>
#include <optional>
#include <source_location>

#include <boost/asio/awaitable.hpp>

#include "weft/core/clock.hpp"
#include "weft/core/timer_queue.hpp"

namespace weft {

struct ServiceStats;

struct TickerOptions {
  std::optional<Duration> slack;        // default: default_slack(period)
  std::optional<Duration> first_delay;  // first tick after this; default: one period
};

struct Tick {
  MonoTime scheduled;      // the deadline of this tick
  std::uint64_t missed;    // ticks skipped just before this one
};

Duration default_slack(Duration period) noexcept;

class Ticker {
public:
  Ticker(TimerQueue& timers, ServiceStats* stats, Duration period, TickerOptions options = {});

  // Waits for the next tick. Cancel-safe: a cancelled wait leaves the
  // schedule as it was; the next call waits for the same tick.
  boost::asio::awaitable<Tick> next(std::source_location loc = std::source_location::current());

  // The bookkeeping after a wake at `now` (used by next() and by the
  // stackful next_tick()): counts missed ticks and moves the schedule on.
  Tick advance(MonoTime now) noexcept;
  TimerQueue& timers() const noexcept { return timers_; }
  ServiceStats* stats() const noexcept { return stats_; }

  Duration period() const noexcept { return period_; }
  Duration slack() const noexcept { return slack_; }
  MonoTime next_deadline() const noexcept { return next_; }
  std::uint64_t missed_total() const noexcept { return missed_total_; }
  std::uint64_t ticks() const noexcept { return ticks_; }

private:
  TimerQueue& timers_;
  ServiceStats* stats_;
  Duration period_;
  Duration slack_;
  MonoTime next_;
  std::uint64_t missed_total_ = 0;
  std::uint64_t ticks_ = 0;
};

}  // namespace weft
