// Two intrusive binary heaps over the same nodes: by deadline (who may wake)
// and by window end (when we must wake). Each node stores its index in both,
// so cancel is O(log n) and scheduling never allocates once the heaps have
// grown. The kernel timer is re-armed only when the earliest window end moves
// earlier than what is armed: re-arming costs a syscall.
#include "weft/core/timer_queue.hpp"

#include <utility>

#include <boost/asio/steady_timer.hpp>

namespace weft {
namespace {

using Heap = std::vector<TimerNode*>;
using Key = MonoTime TimerNode::*;
using Pos = std::size_t TimerNode::*;

template <Key key, Pos pos>
struct IntrusiveHeap {
  static bool less(const TimerNode* a, const TimerNode* b) { return a->*key < b->*key; }

  static void place(Heap& h, std::size_t i, TimerNode* n) {
    h[i] = n;
    n->*pos = i;
  }
  static void sift_up(Heap& h, std::size_t i) {
    TimerNode* n = h[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!less(n, h[parent])) break;
      place(h, i, h[parent]);
      i = parent;
    }
    place(h, i, n);
  }
  static void sift_down(Heap& h, std::size_t i) {
    TimerNode* n = h[i];
    const std::size_t size = h.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && less(h[child + 1], h[child])) ++child;
      if (!less(h[child], n)) break;
      place(h, i, h[child]);
      i = child;
    }
    place(h, i, n);
  }
  static void push(Heap& h, TimerNode* n) {
    h.push_back(n);
    sift_up(h, h.size() - 1);
  }
  static void erase(Heap& h, TimerNode* n) {
    const std::size_t i = n->*pos;
    TimerNode* last = h.back();
    h.pop_back();
    n->*pos = TimerNode::kNotQueued;
    if (last == n) return;
    place(h, i, last);
    sift_down(h, i);
    sift_up(h, last->*pos);
  }
};

using ByDeadline = IntrusiveHeap<&TimerNode::deadline, &TimerNode::by_deadline_pos>;
using ByLatest = IntrusiveHeap<&TimerNode::latest, &TimerNode::by_latest_pos>;

}  // namespace

struct TimerQueue::KernelTimer {
  explicit KernelTimer(boost::asio::io_context& ioc) : timer(ioc) {}
  boost::asio::steady_timer timer;
  std::optional<MonoTime> armed_for;  // set while an async_wait is pending
};

TimerQueue::TimerQueue(const Clock& clock, boost::asio::io_context& ioc) : clock_(clock), ioc_(ioc) {
  if (!clock.is_virtual()) kernel_ = std::make_unique<KernelTimer>(ioc);
}

TimerQueue::~TimerQueue() = default;

void TimerQueue::release_kernel_timer() noexcept { kernel_.reset(); }

void TimerQueue::schedule(TimerNode& node, MonoTime deadline, Duration slack) {
  node.deadline = deadline;
  node.latest = deadline + (slack > Duration::zero() ? slack : Duration::zero());
  ByDeadline::push(by_deadline_, &node);
  ByLatest::push(by_latest_, &node);
  // While expire() runs, waiters woken inline reschedule themselves; arming
  // then would target a node this same pass is about to wake. The pass arms
  // once, at its end.
  if (kernel_ && !expiring_ && (!kernel_->armed_for || node.latest < *kernel_->armed_for)) arm_kernel_timer();
}

bool TimerQueue::cancel(TimerNode& node) noexcept {
  if (!node.queued()) return false;
  ByDeadline::erase(by_deadline_, &node);
  ByLatest::erase(by_latest_, &node);
  return true;  // a kernel timer armed for it just wakes once for nothing
}

std::optional<MonoTime> TimerQueue::next_expiry() const noexcept {
  if (by_latest_.empty()) return std::nullopt;
  return by_latest_.front()->latest;
}

std::size_t TimerQueue::expire(MonoTime now) {
  const bool outer = !std::exchange(expiring_, true);
  std::size_t woken = 0;
  while (!by_deadline_.empty() && by_deadline_.front()->deadline <= now) {
    TimerNode* node = by_deadline_.front();
    cancel(*node);
    ++woken;
    node->on_due(*node);  // may schedule or cancel other nodes
  }
  if (woken > 0) {
    ++stats_.expiries;
    stats_.wakes += woken;
  }
  if (outer) {
    expiring_ = false;
    if (kernel_ && !by_latest_.empty() && (!kernel_->armed_for || by_latest_.front()->latest < *kernel_->armed_for))
      arm_kernel_timer();
  }
  return woken;
}

void TimerQueue::abandon_all() noexcept {
  while (!by_deadline_.empty()) {
    TimerNode* node = by_deadline_.front();
    cancel(*node);
    if (node->on_abandon != nullptr) node->on_abandon(*node);
  }
}

std::size_t TimerQueue::size() const noexcept { return by_deadline_.size(); }

void TimerQueue::arm_kernel_timer() {
  const MonoTime when = by_latest_.front()->latest;
  kernel_->armed_for = when;
  ++stats_.kernel_arms;
  kernel_->timer.expires_at(when);  // cancels a pending wait: its handler sees operation_aborted
  kernel_->timer.async_wait([this, when](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (kernel_->armed_for == when) kernel_->armed_for.reset();
    // Windows that closed while we ran are served now, not after another
    // trip through the kernel (bounded, so other handlers get their turn).
    for (int round = 0; round < 4; ++round) {
      expire(clock_.now());  // arms for the next window end when it finishes
      if (by_latest_.empty() || by_latest_.front()->latest > clock_.now()) break;
    }
  });
}

}  // namespace weft
