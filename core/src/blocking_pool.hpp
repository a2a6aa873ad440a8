// Internal: the blocking pool — a few threads for work that must not run on
// the loop (SQLite, fsync, DNS). A coroutine co_awaits work posted here and
// resumes on its own executor. Not cancellable: the caller waits until the
// work has run, because the work may use state the caller owns.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace weft::detail {

class BlockingPool {
public:
  explicit BlockingPool(std::size_t threads) : pool_(threads) {}
  ~BlockingPool() { pool_.join(); }

  // Work submitted whose completion has not yet run on the loop. The virtual
  // clock does not advance while this is non-zero.
  std::size_t outstanding() const noexcept { return outstanding_.load(std::memory_order_acquire); }

  // Completes with the exception `work` threw, or null.
  template <typename Token>
  auto async_run(std::function<void()> work, boost::asio::any_io_executor fallback, Token&& token) {
    return boost::asio::async_initiate<Token, void(std::exception_ptr)>(
        [this](auto handler, std::function<void()> job, boost::asio::any_io_executor ex) {
          outstanding_.fetch_add(1, std::memory_order_acq_rel);
          auto home = boost::asio::get_associated_executor(handler, ex);
          boost::asio::post(pool_, [this, job = std::move(job), home, handler = std::move(handler)]() mutable {
            std::exception_ptr error;
            try {
              job();
            } catch (...) {
              error = std::current_exception();
            }
            // `error` moves: this thread keeps no reference to the exception
            // once the loop may rethrow it, so it is freed on the loop. (The
            // count is atomic, but inside libstdc++, where ThreadSanitizer
            // cannot see it: a free here was reported as racing what().)
            boost::asio::post(home, [this, error = std::move(error), handler = std::move(handler)]() mutable {
              outstanding_.fetch_sub(1, std::memory_order_acq_rel);
              std::move(handler)(error);
            });
          });
        },
        token, std::move(work), std::move(fallback));
  }

  void join() { pool_.join(); }

private:
  boost::asio::thread_pool pool_;
  std::atomic<std::size_t> outstanding_{0};
};

}  // namespace weft::detail
