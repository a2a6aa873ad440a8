// Internal: async_wait on the runtime's TimerQueue with any completion
// token (use_awaitable for coroutines, yield_context for stackful
// services). Cancel-safe: a cancelled wait leaves nothing queued.
#pragma once

#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>

#include "parked_op.hpp"
#include "weft/core/timer_queue.hpp"

namespace weft::detail {

// `now` is the caller's reading of the queue's clock (callers that read it
// anyway for their await site pass it, saving a clock read per wait); a wait
// already due then completes at once (posted, yielding the loop once).
template <typename Token>
auto async_wait_until(TimerQueue& queue, MonoTime deadline, Duration slack, MonoTime now, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
      [&queue](auto handler, MonoTime when, Duration window, MonoTime read_at) {
        using Handler = decltype(handler);
        using Executor = boost::asio::io_context::executor_type;
        using Op = ParkedOp<TimerNode, TimerQueue, Handler, Executor>;
        TimerNode& node = Op::park(queue, std::move(handler), queue.io_context().get_executor());
        if (when <= read_at) {
          Op::complete(node, {});
          return;
        }
        queue.schedule(node, when, window);
      },
      token, deadline, slack, now);
}

template <typename Token>
auto async_wait_until(TimerQueue& queue, MonoTime deadline, Duration slack, Token&& token) {
  return async_wait_until(queue, deadline, slack, queue.clock().now(), std::forward<Token>(token));
}

}  // namespace weft::detail
