// Launching a stackful service: asio::spawn on the service executor with a
// fixed-size Boost.Context stack (mmap'd, with a PROT_NONE guard page below
// it, so an overflow is a SIGSEGV on the loop thread that the crash handler
// reports naming this service, never silent heap corruption); completion
// and exception go to the supervisor exactly as for a C++20 coroutine.
#include "weft/core/stackful.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include "timer_wait.hpp"

namespace weft {

ServiceSpec stackful_service(std::string name, std::vector<std::string> needs, RestartPolicy policy,
                             StackfulMain main, std::size_t stack_bytes) {
  Launcher launch = [main = std::move(main), stack_bytes](Launch l) {
    Context& ctx = l.ctx;
    boost::asio::spawn(
        l.executor, std::allocator_arg, boost::context::protected_fixedsize_stack(stack_bytes),
        [&main, &ctx](boost::asio::yield_context yield) { main(ctx, yield); },
        boost::asio::bind_cancellation_slot(l.cancel,
                                            [on_exit = std::move(l.on_exit)](std::exception_ptr e) { on_exit(e); }));
  };
  return ServiceSpec{std::move(name), std::move(needs), policy, std::move(launch)};
}

void sleep(Context& ctx, Duration d, boost::asio::yield_context yield, std::source_location loc) {
  const MonoTime now = ctx.clock().now();
  AwaitSiteScope site(ctx.stats(), "sleep", loc, now);
  detail::async_wait_until(ctx.timers(), now + d, default_slack(d), now, yield);
}

Tick next_tick(Ticker& ticker, Context& ctx, boost::asio::yield_context yield, std::source_location loc) {
  {
    const MonoTime now = ctx.clock().now();
    AwaitSiteScope site(ctx.stats(), "ticker", loc, now);
    detail::async_wait_until(ticker.timers(), ticker.next_deadline(), ticker.slack(), now, yield);
  }
  return ticker.advance(ctx.clock().now());
}

}  // namespace weft
