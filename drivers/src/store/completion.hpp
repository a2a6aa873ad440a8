// A one-shot result handed from a store thread (writer or reader) to the
// coroutine that awaits it. The worker calls complete() from its thread;
// the handler runs on the awaiting coroutine's own executor (posted, never
// inline), with outstanding work held on that executor meanwhile. A
// cancellation (e.g. the losing side of `op || timer`) completes the wait at
// once with operation_aborted; the worker's later result is dropped.
// Whoever completes first wins; the other does nothing.
#pragma once

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace weft::store {

template <typename T>
class Completion {
public:
  using Handler = boost::asio::any_completion_handler<void(std::exception_ptr, T)>;

  // Any thread, once or more: the first call (or a cancellation) wins.
  void complete(std::exception_ptr error, T value) {
    std::optional<Handler> handler;
    boost::asio::any_io_executor executor;
    {
      std::lock_guard lock(mutex_);
      if (!handler_) return;
      handler.emplace(std::move(*handler_));
      handler_.reset();
      executor = std::move(executor_);
      executor_ = {};
    }
    // `error` moves into the handler: the worker keeps no reference to it (see complete_with).
    boost::asio::post(executor, [h = std::move(*handler), error = std::move(error), value = std::move(value),
                                 slot = slot_]() mutable {
      if (slot.is_connected()) slot.clear();
      std::move(h)(error, std::move(value));
    });
  }

  void complete_value(T value) { complete(nullptr, std::move(value)); }
  void fail(std::exception_ptr error) { complete(std::move(error), T{}); }
  // Worker thread: completes with what `produce` returns, or with what it
  // threw, handed over only after the catch block has ended. So the worker
  // holds no reference to the exception once the awaiter may run, and the
  // exception is freed on the awaiter's thread. Either thread would be safe
  // (the count is atomic), but the count lives in libstdc++, where
  // ThreadSanitizer cannot see it, so a free on the worker is reported as a
  // race with the awaiter's what().
  template <typename Produce>
  void complete_with(Produce&& produce) {
    std::exception_ptr error;
    try {
      return complete_value(produce());
    } catch (...) {
      error = std::current_exception();
    }
    fail(std::move(error));
  }

  // Calls `submit(shared_ptr<Completion<T>>)` (which hands the completion to
  // a worker) and suspends until it completes or the caller is cancelled.
  template <typename Submit>
  static boost::asio::awaitable<T> wait(Submit submit) {
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                   void(std::exception_ptr, T)>(
        [&submit](auto handler) {
          auto self = std::make_shared<Completion<T>>();
          self->executor_ = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                                boost::asio::execution::outstanding_work.tracked);
          self->slot_ = boost::asio::get_associated_cancellation_slot(handler);
          self->handler_.emplace(std::move(handler));
          if (self->slot_.is_connected()) {
            // The slot's handler keeps the completion alive until it is cleared.
            self->slot_.assign([weak = std::weak_ptr<Completion<T>>(self)](boost::asio::cancellation_type) {
              if (auto s = weak.lock())
                s->fail(std::make_exception_ptr(boost::system::system_error(boost::asio::error::operation_aborted)));
            });
          }
          submit(std::move(self));
        },
        boost::asio::use_awaitable);
  }

private:
  std::mutex mutex_;
  std::optional<Handler> handler_;
  boost::asio::any_io_executor executor_;  // the waiter's, work tracked while pending
  boost::asio::cancellation_slot slot_;    // touched on the waiter's thread only (assign, clear)
};

}  // namespace weft::store
