// The runtime's own timer queue: every sleeping coroutine, ticker and
// supervisor timer waits here, and ONE kernel timer is armed for the
// earliest moment any waiter must wake. Each wait has a window
// [deadline, deadline + slack]; the kernel timer is armed at the earliest
// window end, and one expiry wakes every waiter whose window has opened.
// Guarantees: a waiter is never woken before its deadline; with a punctual
// kernel, it is woken by the end of its window. Loop thread only.
//
// The same queue serves the virtual clock: there the runtime advances the
// clock to next_expiry() whenever the loop is idle, and calls expire().
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "weft/core/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace weft {

// Intrusive: the node lives in its owner (an async operation, a ticker, the
// supervisor), so scheduling allocates nothing.
struct TimerNode {
  static constexpr std::size_t kNotQueued = std::numeric_limits<std::size_t>::max();
  // on_due is called only from expire(), itself called only from the kernel
  // timer's handler or the virtual-time driver: waking inline is safe there.
  static constexpr bool kInlineWake = true;

  MonoTime deadline{};  // never woken before this
  MonoTime latest{};    // deadline + slack: woken by this (kernel permitting)
  std::size_t heap_pos = kNotQueued;
  void (*on_due)(TimerNode&) = nullptr;      // called once, after removal from the queue
  void (*on_abandon)(TimerNode&) = nullptr;  // at runtime teardown: release, do not run (may be null)

  bool queued() const noexcept { return heap_pos != kNotQueued; }
};

struct TimerQueueStats {
  std::uint64_t kernel_arms = 0;  // times the kernel timer was (re)armed
  std::uint64_t expiries = 0;     // expire() calls that woke at least one waiter
  std::uint64_t wakes = 0;        // waiters woken
};

class TimerQueue {
public:
  // With a real clock, arms a steady_timer on `ioc`; with a virtual clock the
  // runtime drives expire() itself.
  TimerQueue(const Clock& clock, boost::asio::io_context& ioc);
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Queues `node` (which must not be queued) with the window [deadline, deadline+slack].
  void schedule(TimerNode& node, MonoTime deadline, Duration slack);
  // Removes `node`; true if it was queued (false: already due or never queued).
  bool cancel(TimerNode& node) noexcept;

  // The earliest window end, when the next wake must happen.
  std::optional<MonoTime> next_expiry() const noexcept;
  // Wakes (removes, then calls on_due of) every node whose deadline <= now,
  // earliest deadline first. Returns how many were woken.
  std::size_t expire(MonoTime now);

  // Teardown: removes every node and calls its on_abandon, so parked
  // coroutine frames are released rather than leaked.
  void abandon_all() noexcept;
  // Teardown: destroys the kernel timer (before its io_context goes).
  void release_kernel_timer() noexcept;

  std::size_t size() const noexcept;

  // One slot of the heap: the node and its deadline.
  struct HeapEntry {
    MonoTime key;
    TimerNode* node;
  };
  const TimerQueueStats& stats() const noexcept { return stats_; }
  const Clock& clock() const noexcept { return clock_; }
  boost::asio::io_context& io_context() const noexcept { return ioc_; }

private:
  struct KernelTimer;
  void arm_kernel_timer(MonoTime when);

  const Clock& clock_;
  boost::asio::io_context& ioc_;
  std::vector<HeapEntry> heap_;  // binary min-heap on deadline
  std::unique_ptr<KernelTimer> kernel_;  // null on a virtual clock
  bool expiring_ = false;                // inside expire(): arming waits for its end
  TimerQueueStats stats_;
};

}  // namespace weft
