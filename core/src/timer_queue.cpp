// One intrusive binary heap on deadline; each node stores its index in it,
// so cancel is O(log n) and scheduling never allocates once the heap has
// grown. A heap entry carries its key beside the node pointer, so ordering
// reads only the heap's own array; a removal moves the hole down along the
// smaller children to a leaf (Floyd's method) and fills it from there.
//
// The earliest window end (when the kernel timer must fire) is found in the
// same heap rather than kept in a second one, which every wake would have
// to update too: no node whose deadline is at or after the best window end
// seen so far can end its window earlier, and the heap property prunes
// whole subtrees by that test. So the search visits the nodes whose deadline
// falls before the earliest window end, once per expiry: where expiries come
// at window ends, about the nodes the expiry wakes. Where a short-slack timer
// expires often beside many long-slack waiters it visits more: 10,000
// waiters with 1 s slack beside a 1 ms zero-slack ticker cost 5.1 us per
// expiry (1.2 us with a second heap on window end), 100,000 cost 5.9 us
// (15.7 us with two heaps). The kernel timer is re-armed only
// when the earliest window end moves earlier than what is armed: re-arming
// costs a syscall.
#include "weft/core/timer_queue.hpp"

#include <utility>

#include <boost/asio/steady_timer.hpp>

namespace weft {
namespace {

using Entry = TimerQueue::HeapEntry;
using Heap = std::vector<Entry>;

void place(Heap& h, std::size_t i, Entry e) {
  h[i] = e;
  e.node->heap_pos = i;
}

void sift_up(Heap& h, std::size_t i, Entry e) {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!(e.key < h[parent].key)) break;
    place(h, i, h[parent]);
    i = parent;
  }
  place(h, i, e);
}

// Fills the hole at i with e, which is not less than the hole's parent.
void fill_hole(Heap& h, std::size_t i, Entry e) {
  const std::size_t size = h.size();
  for (std::size_t child = 2 * i + 1; child < size; child = 2 * i + 1) {
    if (child + 1 < size && h[child + 1].key < h[child].key) ++child;
    place(h, i, h[child]);
    i = child;
  }
  sift_up(h, i, e);  // climbs no higher than the hole began
}

void push(Heap& h, TimerNode* n) {
  h.push_back(Entry{n->deadline, n});
  sift_up(h, h.size() - 1, h.back());
}

void erase(Heap& h, TimerNode* n) {
  const std::size_t i = n->heap_pos;
  const Entry last = h.back();
  h.pop_back();
  n->heap_pos = TimerNode::kNotQueued;
  if (last.node == n) return;
  if (i > 0 && last.key < h[(i - 1) / 2].key) sift_up(h, i, last);
  else fill_hole(h, i, last);
}

// The earliest window end in the subtree at i, or `best` if none is earlier.
MonoTime earliest_end(const Heap& h, std::size_t i, MonoTime best) {
  if (i >= h.size() || h[i].key >= best) return best;  // deadline <= window end: nothing earlier below
  if (h[i].node->latest < best) best = h[i].node->latest;
  best = earliest_end(h, 2 * i + 1, best);
  return earliest_end(h, 2 * i + 2, best);
}

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
  push(heap_, &node);
  // While expire() runs, waiters woken inline reschedule themselves; arming
  // then would target a node this same pass is about to wake. The pass arms
  // once, at its end.
  // With a kernel timer armed, only this node can have moved the earliest
  // window end (earlier); with none armed, others may be queued too.
  if (kernel_ && !expiring_) {
    if (!kernel_->armed_for) arm_kernel_timer(*next_expiry());
    else if (node.latest < *kernel_->armed_for) arm_kernel_timer(node.latest);
  }
}

bool TimerQueue::cancel(TimerNode& node) noexcept {
  if (!node.queued()) return false;
  erase(heap_, &node);
  return true;  // a kernel timer armed for it just wakes once for nothing
}

std::optional<MonoTime> TimerQueue::next_expiry() const noexcept {
  if (heap_.empty()) return std::nullopt;
  const TimerNode& first = *heap_.front().node;
  return earliest_end(heap_, 1, earliest_end(heap_, 2, first.latest));
}

std::size_t TimerQueue::expire(MonoTime now) {
  const bool outer = !std::exchange(expiring_, true);
  std::size_t woken = 0;
  while (!heap_.empty() && heap_.front().key <= now) {
    TimerNode* node = heap_.front().node;
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
    if (kernel_) {
      const std::optional<MonoTime> next = next_expiry();
      if (next && (!kernel_->armed_for || *next < *kernel_->armed_for)) arm_kernel_timer(*next);
    }
  }
  return woken;
}

void TimerQueue::abandon_all() noexcept {
  while (!heap_.empty()) {
    TimerNode* node = heap_.front().node;
    cancel(*node);
    if (node->on_abandon != nullptr) node->on_abandon(*node);
  }
}

std::size_t TimerQueue::size() const noexcept { return heap_.size(); }

void TimerQueue::arm_kernel_timer(MonoTime when) {
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
      const std::optional<MonoTime> next = next_expiry();
      if (!next || *next > clock_.now()) break;
    }
  });
}

}  // namespace weft
