// TaskGroup: see task_group.hpp. Children are co_spawned with a completion
// handler owned by the group, each bound to its own cancellation signal.
#include "weft/core/task_group.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "parked_op.hpp"

namespace weft {
namespace {

template <typename Token>
auto async_wait_child(TaskGroup& group, TaskGroupWaiter*& slot, boost::asio::any_io_executor ex, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
      [&group, &slot](auto handler, boost::asio::any_io_executor fallback) {
        using Op = detail::ParkedOp<TaskGroupWaiter, TaskGroup, decltype(handler), boost::asio::any_io_executor>;
        slot = &Op::park(group, std::move(handler), std::move(fallback));
      },
      token, std::move(ex));
}

}  // namespace

TaskGroup::~TaskGroup() { cancel(); }

void TaskGroup::spawn(boost::asio::awaitable<void> task) {
  for (auto it : done_) signals_.erase(it);
  done_.clear();
  const auto child = signals_.emplace(signals_.end());
  ++running_;
  boost::asio::co_spawn(executor_, std::move(task),
                        boost::asio::bind_cancellation_slot(
                            child->slot(), [this, child](std::exception_ptr error) { on_child_exit(child, error); }));
}

void TaskGroup::cancel() {
  for (auto it = signals_.begin(); it != signals_.end(); ++it)
    if (std::find(done_.begin(), done_.end(), it) == done_.end()) it->emit(boost::asio::cancellation_type::terminal);
}

bool TaskGroup::cancel(TaskGroupWaiter& w) noexcept {
  if (waiter_ != &w) return false;
  waiter_ = nullptr;
  return true;
}

void TaskGroup::on_child_exit(Signals::iterator child, std::exception_ptr error) {
  --running_;
  done_.push_back(child);
  if (error && !first_error_) {
    first_error_ = error;
    cancel();
  }
  if (TaskGroupWaiter* w = std::exchange(waiter_, nullptr)) w->on_due(*w);
}

boost::asio::awaitable<void> TaskGroup::join() {
  co_await boost::asio::this_coro::throw_if_cancelled(false);
  bool cancelled = false;
  while (running_ > 0) {
    auto [ec] = co_await async_wait_child(*this, waiter_, executor_, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec == boost::asio::error::operation_aborted && !cancelled) {
      cancelled = true;
      cancel();  // forward, then keep waiting: children finish before we return
      co_await boost::asio::this_coro::reset_cancellation_state();
    }
  }
  signals_.clear();
  done_.clear();
  if (first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
  if (cancelled) throw boost::system::system_error(boost::asio::error::operation_aborted);
}

}  // namespace weft
