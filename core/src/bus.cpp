// Point bus fan-out. Invariants:
//  1. every live Subscription's queue is in queues_ exactly once;
//  2. a queue never holds more than `capacity` readings (drop-oldest);
//  3. at most one receiver is parked per queue, and it is parked only while
//     the queue is empty.
#include "weft/core/bus.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <boost/asio/post.hpp>

#include "parked_op.hpp"
#include "slice_clock.hpp"
#include "weft/core/service_stats.hpp"

namespace weft {
namespace detail {

bool SubscriberQueue::cancel(BusWaiter& w) noexcept {
  if (waiter != &w) return false;
  waiter = nullptr;
  return true;
}

namespace {
template <typename Token>
auto async_wait_reading(SubscriberQueue& q, boost::asio::any_io_executor fallback, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
      [&q](auto handler, boost::asio::any_io_executor ex) {
        using Op = ParkedOp<BusWaiter, SubscriberQueue, decltype(handler), boost::asio::any_io_executor>;
        if (q.waiter != nullptr)
          throw std::logic_error("bus: two receivers on one subscription ('" + q.pattern + "')");
        BusWaiter& node = Op::park(q, std::move(handler), std::move(ex));
        q.waiter = &node;
      },
      token, std::move(fallback));
}
}  // namespace
}  // namespace detail

Subscription::Subscription(Bus& bus, std::unique_ptr<detail::SubscriberQueue> q, ServiceStats* stats,
                           const Clock& clock)
    : bus_(&bus), queue_(std::move(q)), stats_(stats), clock_(&clock) {}

Subscription::Subscription(Subscription&& o) noexcept
    : bus_(std::exchange(o.bus_, nullptr)), queue_(std::move(o.queue_)), stats_(o.stats_), clock_(o.clock_) {}

Subscription& Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    reset();
    bus_ = std::exchange(o.bus_, nullptr);
    queue_ = std::move(o.queue_);
    stats_ = o.stats_;
    clock_ = o.clock_;
  }
  return *this;
}

Subscription::~Subscription() { reset(); }

void Subscription::reset() noexcept {
  if (bus_ != nullptr && queue_) bus_->unsubscribe(queue_.get());
  bus_ = nullptr;
  queue_.reset();
}

std::optional<Reading> Subscription::try_receive() {
  if (!queue_ || queue_->items.empty()) return std::nullopt;
  Reading r = std::move(queue_->items.front());
  queue_->items.pop_front();
  ++queue_->delivered;
  return r;
}

boost::asio::awaitable<Reading> Subscription::receive(std::source_location loc) {
  if (!queue_) throw std::logic_error("bus: receive on an empty Subscription");
  const bool cancelled_before = (co_await boost::asio::this_coro::cancellation_state).cancelled() !=
                                boost::asio::cancellation_type::none;
  if (!queue_->items.empty() && detail::slice_elapsed() >= kBusYieldAfter) {
    co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    // Not parked while it yields, so an unsubscribe meanwhile (the
    // Subscription moved from or reset) could not abort it: it does here.
    if (!queue_) throw boost::system::system_error(boost::asio::error::operation_aborted, "bus receive");
    if (!cancelled_before && (co_await boost::asio::this_coro::cancellation_state).cancelled() !=
                                 boost::asio::cancellation_type::none)
      throw boost::system::system_error(boost::asio::error::operation_aborted, "bus receive");
  }
  while (queue_->items.empty()) {
    std::optional<AwaitSiteScope> site;
    if (stats_ != nullptr) site.emplace(*stats_, "bus receive", loc, clock_->now());
    co_await detail::async_wait_reading(*queue_, co_await boost::asio::this_coro::executor,
                                        boost::asio::use_awaitable);
    // Woken, but cancelled after the wake was queued (the other side of `||` won in the
    // same turn): the caller no longer takes the reading, so it stays queued.
    if (!cancelled_before && (co_await boost::asio::this_coro::cancellation_state).cancelled() !=
                                 boost::asio::cancellation_type::none)
      throw boost::system::system_error(boost::asio::error::operation_aborted, "bus receive");
  }
  co_return *try_receive();
}

Bus::~Bus() {
  for (auto* q : queues_) q->waiter = nullptr;  // owners outlive us only in misuse; never touch them
}

void Bus::publish(const Reading& reading) {
  const std::uint64_t seq = ++published_;
  // Copy-assigning over the previous reading reuses its string: no allocation per publish.
  if (auto it = latest_.find(reading.point); it != latest_.end()) {
    it->second = reading;
    it->second.seq = seq;
  } else if (latest_.size() < kLatestPoints) {
    latest_.emplace(reading.point, reading).first->second.seq = seq;
  } else {
    ++latest_untracked_;
  }
  for (detail::SubscriberQueue* q : queues_) {
    if (q->pattern != "*" && ::fnmatch(q->pattern.c_str(), reading.point.c_str(), 0) != 0) continue;
    if (q->items.size() >= q->capacity) {
      q->items.pop_front();
      ++q->dropped;
    }
    q->items.push_back(reading);
    q->items.back().seq = seq;
    if (BusWaiter* w = std::exchange(q->waiter, nullptr)) w->on_due(*w);
  }
}

Subscription Bus::subscribe(std::string pattern, std::size_t capacity, ServiceStats* stats) {
  if (capacity == 0) throw std::invalid_argument("bus: subscription capacity must be at least 1");
  auto q = std::make_unique<detail::SubscriberQueue>();
  q->pattern = std::move(pattern);
  q->capacity = capacity;
  q->owner = stats;
  queues_.push_back(q.get());
  return Subscription(*this, std::move(q), stats, clock_);
}

void Bus::unsubscribe(detail::SubscriberQueue* q) noexcept {
  dropped_past_ += q->dropped;
  if (BusWaiter* w = std::exchange(q->waiter, nullptr)) w->on_abandon(*w);
  queues_.erase(std::remove(queues_.begin(), queues_.end(), q), queues_.end());
}

BusStats Bus::stats() const noexcept {
  BusStats s;
  s.published = published_;
  s.dropped = dropped_past_;
  for (const auto* q : queues_) s.dropped += q->dropped;
  s.subscribers = queues_.size();
  return s;
}

const Reading* Bus::latest(std::string_view point) const {
  auto it = latest_.find(std::string(point));
  return it == latest_.end() ? nullptr : &it->second;
}

std::vector<const Reading*> Bus::latest_matching(std::string_view glob) const {
  const std::string pattern(glob);
  std::vector<const Reading*> out;
  for (const auto& [point, reading] : latest_)
    if (pattern == "*" || ::fnmatch(pattern.c_str(), point.c_str(), 0) == 0) out.push_back(&reading);
  std::sort(out.begin(), out.end(), [](const Reading* a, const Reading* b) { return a->point < b->point; });
  return out;
}

void Bus::abandon_waiters() noexcept {
  for (auto* q : queues_)
    if (BusWaiter* w = std::exchange(q->waiter, nullptr)) w->on_abandon(*w);
}

}  // namespace weft
