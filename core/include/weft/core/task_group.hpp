// TaskGroup: the owner of a service's child coroutines (one poller per bus,
// one handler per connection). Children run on the given executor (the
// service's, so they are accounted to it). The first child to fail cancels
// the others; join() waits until every child has finished, then rethrows
// that first failure. Cancelling join() cancels the children and still
// waits for them: a child is never abandoned while it may touch state.
//
//   TaskGroup group(ctx.executor());
//   for (auto& bus : buses) group.spawn(poll_bus(ctx, bus));
//   co_await group.join();
#pragma once

#include <cstddef>
#include <exception>
#include <list>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>

namespace weft {

struct TaskGroupWaiter {
  static constexpr bool kInlineWake = false;  // woken from a child's completion
  void (*on_due)(TaskGroupWaiter&) = nullptr;
  void (*on_abandon)(TaskGroupWaiter&) = nullptr;
};

class TaskGroup {
public:
  explicit TaskGroup(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup();  // cancels children still running (join() should have been awaited)

  void spawn(boost::asio::awaitable<void> task);
  void cancel();  // asks every running child to stop
  boost::asio::awaitable<void> join();

  std::size_t running() const noexcept { return running_; }
  bool cancel(TaskGroupWaiter& w) noexcept;  // ParkedOp owner interface

private:
  using Signals = std::list<boost::asio::cancellation_signal>;
  void on_child_exit(Signals::iterator child, std::exception_ptr error);

  boost::asio::any_io_executor executor_;
  Signals signals_;                     // stable addresses; one per running child
  std::vector<Signals::iterator> done_; // finished children's signals, freed at the next spawn
                                        // (not inside their own completion handler)
  std::size_t running_ = 0;
  std::exception_ptr first_error_;
  TaskGroupWaiter* waiter_ = nullptr;
};

}  // namespace weft
