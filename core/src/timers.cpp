// Context-free waits on the runtime's timer queue: see timers.hpp.
#include "weft/core/timers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "timer_wait.hpp"

namespace weft {

boost::asio::awaitable<void> sleep_until(TimerQueue& timers, MonoTime deadline, Duration slack) {
  co_await detail::async_wait_until(timers, deadline, slack, boost::asio::use_awaitable);
}

boost::asio::awaitable<bool> expires_at(TimerQueue& timers, MonoTime deadline, Duration slack) {
  auto [ec] = co_await detail::async_wait_until(timers, deadline, slack, boost::asio::as_tuple(boost::asio::use_awaitable));
  co_return !ec;
}

boost::asio::awaitable<void> sleep_for(TimerQueue& timers, Duration d, Duration slack) {
  co_await detail::async_wait_until(timers, timers.clock().now() + d, slack, boost::asio::use_awaitable);
}

}  // namespace weft
