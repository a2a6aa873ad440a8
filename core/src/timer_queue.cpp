// Two intrusive binary heaps over the same nodes: by deadline (who may wake)
// and by window end (when we must wake). Each node stores its index in both,
// so cancel is O(log n) and scheduling never allocates once the heaps have
// grown. A heap entry carries its key beside the node pointer, so ordering
// reads only the heap's own array. A removal moves the hole down along the
// smaller children to a leaf (one comparison per level, Floyd's method) and
// fills it with the last entry from there: a wake takes the front of both
// heaps, and the last entry almost always belongs near the bottom. The kernel
// timer is re-armed only when the earliest window end moves earlier than what
// is armed: re-arming costs a syscall.
#include "weft/core/timer_queue.hpp"

#include <utility>

#include <boost/asio/steady_timer.hpp>

namespace weft {
namespace {

using Pos = std::size_t TimerNode::*;

template <Pos pos>
struct IntrusiveHeap {
  using Entry = TimerQueue::HeapEntry;
  using Heap = std::vector<Entry>;

  static void place(Heap& h, std::size_t i, Entry e) {
    h[i] = e;
    e.node->*pos = i;
  }
  static void sift_up(Heap& h, std::size_t i, Entry e) {
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!(e.key < h[parent].key)) break;
      place(h, i, h[parent]);
      i = parent;
    }
    place(h, i, e);
  }
  // Fills the hole at i with e, which is not less than the hole's parent.
  static void fill_hole(Heap& h, std::size_t i, Entry e) {
    const std::size_t size = h.size();
    for (std::size_t child = 2 * i + 1; child < size; child = 2 * i + 1) {
      if (child + 1 < size && h[child + 1].key < h[child].key) ++child;
      place(h, i, h[child]);
      i = child;
    }
    sift_up(h, i, e);  // climbs no higher than the hole began
  }
  static void push(Heap& h, TimerNode* n, MonoTime key) {
    h.push_back(Entry{key, n});
    sift_up(h, h.size() - 1, h.back());
  }
  static void erase(Heap& h, TimerNode* n) {
    const std::size_t i = n->*pos;
    const Entry last = h.back();
    h.pop_back();
    n->*pos = TimerNode::kNotQueued;
    if (last.node == n) return;
    if (i > 0 && last.key < h[(i - 1) / 2].key) sift_up(h, i, last);
    else fill_hole(h, i, last);
  }
};

using ByDeadline = IntrusiveHeap<&TimerNode::by_deadline_pos>;
using ByLatest = IntrusiveHeap<&TimerNode::by_latest_pos>;

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
  ByDeadline::push(by_deadline_, &node, node.deadline);
  ByLatest::push(by_latest_, &node, node.latest);
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
  return by_latest_.front().key;
}

std::size_t TimerQueue::expire(MonoTime now) {
  const bool outer = !std::exchange(expiring_, true);
  std::size_t woken = 0;
  while (!by_deadline_.empty() && by_deadline_.front().key <= now) {
    TimerNode* node = by_deadline_.front().node;
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
    if (kernel_ && !by_latest_.empty() && (!kernel_->armed_for || by_latest_.front().key < *kernel_->armed_for))
      arm_kernel_timer();
  }
  return woken;
}

void TimerQueue::abandon_all() noexcept {
  while (!by_deadline_.empty()) {
    TimerNode* node = by_deadline_.front().node;
    cancel(*node);
    if (node->on_abandon != nullptr) node->on_abandon(*node);
  }
}

std::size_t TimerQueue::size() const noexcept { return by_deadline_.size(); }

void TimerQueue::arm_kernel_timer() {
  const MonoTime when = by_latest_.front().key;
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
      if (by_latest_.empty() || by_latest_.front().key > clock_.now()) break;
    }
  });
}

}  // namespace weft
