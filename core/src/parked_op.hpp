// Internal: an Asio asynchronous operation whose handler is parked in a
// heap node (allocated with the handler's allocator, Asio's recycling one by
// default) until the runtime completes it or the caller cancels it.
// Completion runs through the handler's associated executor (the service
// executor for a coroutine). A wake from the owner's top-level dispatcher
// (TimerQueue::expire, called only from its own handler) resumes the waiter
// inline through its service executor: one slice, no allocation. Every
// other completion (already due at initiation, cancellation, teardown, and
// owners that complete from inside other code, like the bus) is posted, so
// it never re-enters the code that caused it.
//
// Any cancellation type except `none` cancels: the op's owner is told via
// Owner::cancel(node), which returns true if the op was still pending
// (then it completes with operation_aborted).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include "weft/core/service_executor.hpp"

namespace weft::detail {

// Node: the intrusive base the owner queues (TimerNode, a bus waiter...).
// It must have members `void (*on_due)(Node&)`, `void (*on_abandon)(Node&)`
// and `static constexpr bool kInlineWake` (whether on_due may resume inline).
template <typename Node, typename Owner, typename Handler, typename DefaultExecutor>
class ParkedOp final : public Node {
public:
  // Allocates the op and returns its node for the owner to queue. The op
  // deletes itself when it completes.
  static Node& park(Owner& owner, Handler handler, DefaultExecutor fallback) {
    Alloc alloc(boost::asio::get_associated_allocator(handler, boost::asio::recycling_allocator<void>()));
    ParkedOp* op = std::allocator_traits<Alloc>::allocate(alloc, 1);
    ::new (static_cast<void*>(op)) ParkedOp(owner, std::move(handler), std::move(fallback));
    op->watch_cancellation();
    return *op;
  }

  // Completes the op whose node is `node` (after the owner dequeued it).
  static void complete(Node& node, boost::system::error_code ec) {
    static_cast<ParkedOp&>(node).finish(ec, false);
  }
  // Completes it from a top-level dispatcher where resuming inline is safe.
  static void complete_inline(Node& node) { static_cast<ParkedOp&>(node).finish({}, true); }

private:
  using Alloc = typename std::allocator_traits<
      boost::asio::associated_allocator_t<Handler, boost::asio::recycling_allocator<void>>>::
      template rebind_alloc<ParkedOp>;

  ParkedOp(Owner& owner, Handler handler, DefaultExecutor fallback)
      : owner_(owner), handler_(std::move(handler)), fallback_(std::move(fallback)) {
    this->on_due = [](Node& n) { Node::kInlineWake ? complete_inline(n) : complete(n, {}); };
    this->on_abandon = [](Node& n) { complete(n, boost::asio::error::operation_aborted); };
  }

  struct OnCancel {
    ParkedOp* op;
    void operator()(boost::asio::cancellation_type type) const {
      if (type == boost::asio::cancellation_type::none) return;
      ParkedOp* self = op;  // this handler is destroyed inside finish()
      if (self->owner_.cancel(*self)) self->finish(boost::asio::error::operation_aborted, false);
    }
  };

  void watch_cancellation() {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.template emplace<OnCancel>(OnCancel{this});
  }

  void finish(boost::system::error_code ec, bool inline_ok) {
    auto slot = boost::asio::get_associated_cancellation_slot(handler_);
    Alloc alloc(boost::asio::get_associated_allocator(handler_, boost::asio::recycling_allocator<void>()));
    Handler handler(std::move(handler_));
    auto executor = boost::asio::get_associated_executor(handler, fallback_);
    this->~ParkedOp();
    std::allocator_traits<Alloc>::deallocate(alloc, this, 1);
    if (slot.is_connected()) slot.clear();
    if constexpr (std::is_same_v<decltype(executor), boost::asio::any_io_executor>) {
      if (inline_ok) {
        if (const auto* service = executor.template target<ServiceExecutor>()) {
          service->execute([h = std::move(handler), ec]() mutable { std::move(h)(ec); });
          return;
        }
      }
    }
    boost::asio::post(executor, boost::asio::append(std::move(handler), ec));
  }

  Owner& owner_;
  Handler handler_;
  DefaultExecutor fallback_;
};

}  // namespace weft::detail
