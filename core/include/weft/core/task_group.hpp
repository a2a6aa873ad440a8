// TaskGroup: the owner of a service's child coroutines (one poller per bus,
// one handler per connection). Children run on the given executor (the
// service's, so they are accounted to it). The first child to fail cancels
// the others; join() waits until every child has finished, then rethrows
// that first failure.
//
// Contract: children run only inside join(), which never ends while one is
// alive: the group may be destroyed whenever no join() is suspended on it.
// A stop pending at join()'s entry or landing while it waits is never lost:
// every child is cancelled and waited for, then join() throws operation_aborted
// (the caller's throw-on-cancel setting and cancellation state are kept).
//
// Why children start in join() and not in spawn(): Asio checks a pending stop
// when a coroutine co_awaits (throw-on-cancel), before the awaited coroutine
// runs, so `co_await group.join()` can throw without join() ever running.
// Had the children started at spawn(), the group would then die under them
// (and they would later write into it). Deferring the start makes that
// throw harmless: the queued children are destroyed without having run.
// spawn() from inside a running child (a session accepted by an accept loop
// that is itself a child) starts the task at once.
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
  // Children not yet started are destroyed without running. Live children
  // exist only while a join() is suspended, and the runtime never destroys
  // a suspended coroutine; should it happen anyway, they are cancelled.
  ~TaskGroup();

  // Queues `task` to start at the next join(); while a join() runs, starts
  // it at once. Once the group is cancelling (a stop, a failure, cancel()),
  // the task is discarded without running.
  void spawn(boost::asio::awaitable<void> task);
  // Discards the queued tasks and asks every running child to stop.
  void cancel();
  // Starts the queued children and waits until every child has finished;
  // see the contract above. Cancel-safe: a stop cancels the children and
  // still waits for them (a child is never abandoned while it may touch
  // state).
  boost::asio::awaitable<void> join();

  std::size_t running() const noexcept { return running_ + queued_.size(); }  // started or queued
  bool cancel(TaskGroupWaiter& w) noexcept;  // ParkedOp owner interface

private:
  using Signals = std::list<boost::asio::cancellation_signal>;
  void start(boost::asio::awaitable<void> task);
  void on_child_exit(Signals::iterator child, std::exception_ptr error);

  boost::asio::any_io_executor executor_;
  std::vector<boost::asio::awaitable<void>> queued_;  // spawned before join(): started by it
  Signals signals_;                     // stable addresses; one per running child
  std::vector<Signals::iterator> done_; // finished children's signals, freed at the next start
                                        // (not inside their own completion handler)
  std::size_t running_ = 0;
  bool joining_ = false;     // inside join(): spawn() starts at once
  bool cancelling_ = false;  // a stop, a failure or cancel(): spawn() discards; reset when join() returns
  std::exception_ptr first_error_;
  TaskGroupWaiter* waiter_ = nullptr;
};

}  // namespace weft
