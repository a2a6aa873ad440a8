// TaskGroup: see task_group.hpp. Children are co_spawned by join() (or by
// spawn() while a join runs) with a completion handler owned by the group,
// each bound to its own cancellation signal.
//
// join() runs with throw-on-cancel off, so that nothing it awaits throws
// before the children have finished; it therefore reads the cancellation
// state itself before every park (a stop recorded while it was not parked,
// e.g. between a child's exit and its next park, would otherwise be lost),
// and restores the caller's throw-on-cancel setting (Asio keeps it per
// coroutine thread, not per frame) on every way out.
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
  if (cancelling_) return;  // destroyed unstarted: it never ran, so it has nothing to clean up
  if (joining_) start(std::move(task));
  else queued_.push_back(std::move(task));
}

void TaskGroup::start(boost::asio::awaitable<void> task) {
  for (auto it : done_) signals_.erase(it);
  done_.clear();
  const auto child = signals_.emplace(signals_.end());
  ++running_;
  boost::asio::co_spawn(executor_, std::move(task),
                        boost::asio::bind_cancellation_slot(
                            child->slot(), [this, child](std::exception_ptr error) { on_child_exit(child, error); }));
}

void TaskGroup::cancel() {
  cancelling_ = true;
  queued_.clear();
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
  // Only these this_coro queries may be awaited before the children have
  // finished: they never throw, whatever the cancellation state.
  const bool caller_throws = co_await boost::asio::this_coro::throw_if_cancelled();
  co_await boost::asio::this_coro::throw_if_cancelled(false);
  const auto stop_pending = [](const boost::asio::cancellation_state& state) {
    return state.cancelled() != boost::asio::cancellation_type::none;
  };

  bool stopped = stop_pending(co_await boost::asio::this_coro::cancellation_state);
  if (stopped) cancel();  // the queued children never start
  joining_ = true;
  std::vector<boost::asio::awaitable<void>> queued = std::exchange(queued_, {});
  for (auto& task : queued) {
    if (cancelling_) break;  // a child that started inline has already failed: the rest never start
    start(std::move(task));
  }
  queued.clear();
  while (running_ > 0) {
    // Parks on no stale state: a stop recorded since the last check (it
    // found no parked wait to cancel) is acted on here.
    if (!stopped && stop_pending(co_await boost::asio::this_coro::cancellation_state)) {
      stopped = true;
      cancel();
      continue;  // test running_ again before parking: a wait with no child left to wake it would hang
    }
    // A stop while parked completes this with operation_aborted; the check
    // above then sees it recorded.
    co_await async_wait_child(*this, waiter_, executor_, boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  joining_ = false;
  cancelling_ = false;
  signals_.clear();
  done_.clear();
  co_await boost::asio::this_coro::throw_if_cancelled(caller_throws);
  if (first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
  if (stopped) throw boost::system::system_error(boost::asio::error::operation_aborted, "task group stopped");
}

}  // namespace weft
