// The point bus: readings are published once and fanned out to bounded
// per-subscriber queues. A publisher never waits: when a subscriber's queue
// is full its OLDEST reading is dropped and counted. Subscribers select
// points with a glob pattern (fnmatch). Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/core/clock.hpp"
#include "weft/core/point_info.hpp"
#include "weft/core/point_writes.hpp"
#include "weft/core/reading.hpp"

namespace weft {

struct ServiceStats;
class Bus;

// Intrusive node of the (single) receiver parked on a subscriber queue.
struct BusWaiter {
  static constexpr bool kInlineWake = false;  // woken from inside publish(): never inline
  void (*on_due)(BusWaiter&) = nullptr;
  void (*on_abandon)(BusWaiter&) = nullptr;
};

namespace detail {
struct SubscriberQueue {
  std::string pattern;
  std::size_t capacity;
  std::deque<Reading> items;
  std::uint64_t dropped = 0;   // oldest readings discarded because the queue was full
  std::uint64_t delivered = 0; // readings handed to the receiver
  BusWaiter* waiter = nullptr; // parked receiver, if any
  const ServiceStats* owner = nullptr;  // the subscribing service's, for dumps; may be null
  bool cancel(BusWaiter& w) noexcept;  // ParkedOp owner interface
};
}  // namespace detail

// A subscriber's end. Move-only; unsubscribes when destroyed.
class Subscription {
public:
  Subscription() = default;
  Subscription(Subscription&&) noexcept;
  Subscription& operator=(Subscription&&) noexcept;
  ~Subscription();

  // Waits for the next reading. Cancel-safe: a reading is either returned
  // or stays queued. One receiver at a time per subscription. A queued
  // reading is returned at once, unless the caller's slice has already
  // held the loop for kBusYieldAfter: then it yields the loop first (one
  // post), so a receiver working through a backlog cannot hold every other
  // service off for the whole backlog (the ca service fanning a burst out
  // to 100 circuits held the loop 11-13 ms).
  static constexpr std::chrono::microseconds kBusYieldAfter{200};
  boost::asio::awaitable<Reading> receive(std::source_location loc = std::source_location::current());
  std::optional<Reading> try_receive();

  std::uint64_t dropped() const noexcept { return queue_->dropped; }
  std::size_t depth() const noexcept { return queue_->items.size(); }
  std::size_t capacity() const noexcept { return queue_->capacity; }
  const std::string& pattern() const noexcept { return queue_->pattern; }

private:
  friend class Bus;
  Subscription(Bus& bus, std::unique_ptr<detail::SubscriberQueue> q, ServiceStats* stats, const Clock& clock);
  void reset() noexcept;

  Bus* bus_ = nullptr;
  std::unique_ptr<detail::SubscriberQueue> queue_;
  ServiceStats* stats_ = nullptr;  // for the await site; may be null
  const Clock* clock_ = nullptr;
};

struct BusStats {
  std::uint64_t published = 0;
  std::uint64_t dropped = 0;  // summed over all subscribers, including past ones
  std::size_t subscribers = 0;
};

class Bus {
public:
  explicit Bus(const Clock& clock) : clock_(clock) {}
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Never blocks, never throws for a full subscriber. Numbers the reading
  // (Reading::seq = published()) in the copies it keeps and delivers.
  void publish(const Reading& reading);
  // Readings published so far: the seq of the last one (0: none yet).
  std::uint64_t published() const noexcept { return published_; }
  // capacity >= 1; `stats` (the subscribing service's) gets the await site.
  Subscription subscribe(std::string pattern, std::size_t capacity, ServiceStats* stats = nullptr);

  BusStats stats() const noexcept;
  // Every live subscriber queue (for dumps: depth, capacity, drops, owner).
  const std::vector<detail::SubscriberQueue*>& queues() const noexcept { return queues_; }

  // The latest reading of every point published so far (for the console's
  // `points` and `read`). Bounded: at most kLatestPoints points are kept;
  // readings of further new points are not kept, only counted.
  static constexpr std::size_t kLatestPoints = 65536;
  const Reading* latest(std::string_view point) const;
  std::vector<const Reading*> latest_matching(std::string_view glob) const;  // fnmatch, sorted by point
  std::size_t latest_size() const noexcept { return latest_.size(); }
  std::uint64_t latest_untracked() const noexcept { return latest_untracked_; }

  // Teardown: releases every parked receiver (completes it with operation_aborted).
  void abandon_waiters() noexcept;

  // The writable points and their owners (point_writes.hpp): a service that
  // owns a point's hardware registers its writer here, one that wants a
  // point set finds it here.
  PointWrites& writes() noexcept { return writes_; }

  // Point descriptions, set by the point's owner (gather, from its config)
  // before it publishes the point; a later one replaces it (a reload).
  // Bounded by the configured points; kept after the owner stops.
  // info_changes() counts the descriptions that changed something (a new
  // point's, or a different one), so a presenter re-reads them only then.
  void describe(const std::string& point, PointInfo info) {
    auto& slot = infos_[point];
    if (slot != info) ++info_changes_;
    slot = std::move(info);
  }
  std::uint64_t info_changes() const noexcept { return info_changes_; }
  const PointInfo* info(std::string_view point) const {
    const auto it = infos_.find(point);
    return it == infos_.end() ? nullptr : &it->second;
  }

private:
  friend class Subscription;
  void unsubscribe(detail::SubscriberQueue* q) noexcept;

  const Clock& clock_;
  std::vector<detail::SubscriberQueue*> queues_;
  std::uint64_t published_ = 0;
  std::uint64_t dropped_past_ = 0;  // drops of subscriptions already gone
  std::unordered_map<std::string, Reading> latest_;  // point -> its last reading, <= kLatestPoints
  std::uint64_t latest_untracked_ = 0;              // publishes of points beyond kLatestPoints
  PointWrites writes_;
  std::map<std::string, PointInfo, std::less<>> infos_;
  std::uint64_t info_changes_ = 0;
};

}  // namespace weft
