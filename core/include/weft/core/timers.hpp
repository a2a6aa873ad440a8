// Waits on the runtime's timer queue for code that has no Context (drivers,
// helpers shared by services). They follow the runtime's clock, so they run
// on virtual time in simulation. Compose timeouts with awaitable operators:
//   co_await (stream.async_read_some(buf, use_awaitable) || sleep_until(timers, deadline));
// Cancel-safe: a cancelled wait leaves nothing queued.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "weft/core/clock.hpp"
#include "weft/core/timer_queue.hpp"

namespace weft {

boost::asio::awaitable<void> sleep_until(TimerQueue& timers, MonoTime deadline, Duration slack = Duration::zero());
// As sleep_until, but a cancellation is a return value (false), not an
// exception: for the timer side of a race (`op || expires_at(...)`), which
// loses, and so is cancelled, on every successful operation. Unwinding an
// exception there costs more than the rest of a Modbus transaction.
boost::asio::awaitable<bool> expires_at(TimerQueue& timers, MonoTime deadline, Duration slack = Duration::zero());
boost::asio::awaitable<void> sleep_for(TimerQueue& timers, Duration d, Duration slack = Duration::zero());

}  // namespace weft
