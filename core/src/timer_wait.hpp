// Internal: async_wait on the runtime's TimerQueue with any completion
// token (use_awaitable for coroutines, yield_context for stackful
// services). Cancel-safe: a cancelled wait leaves nothing queued.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>

#include "parked_op.hpp"
#include "weft/core/timer_queue.hpp"

namespace weft::detail {

template <typename Token>
auto async_wait_until(TimerQueue& queue, MonoTime deadline, Duration slack, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
      [&queue](auto handler, MonoTime when, Duration window) {
        using Handler = decltype(handler);
        using Executor = boost::asio::io_context::executor_type;
        using Op = ParkedOp<TimerNode, TimerQueue, Handler, Executor>;
        TimerNode& node = Op::park(queue, std::move(handler), queue.io_context().get_executor());
        if (when <= queue.clock().now()) {
          Op::complete(node, {});  // already due: complete (posted), yielding the loop once
          return;
        }
        queue.schedule(node, when, window);
      },
      token, deadline, slack);
}

}  // namespace weft::detail
