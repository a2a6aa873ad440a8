// The record intake: see record_intake.hpp. Invariants:
//  1. carried_ holds only readings published before everything in sub_;
//  2. a drop is reported exactly once, through the lost_before of the first
//     Item taken after it (drops of a queue precede everything still in it);
//  3. nothing here suspends between taking a reading off a queue and
//     returning it, so a cancelled take() loses nothing.
#include "weft/apps/record/record_intake.hpp"

#include <stdexcept>

#include "weft/core/service_stats.hpp"

namespace weft::apps {

std::uint64_t RecordIntake::unreported_drops() const noexcept {
  return sub_ ? sub_->dropped() - seen_drops_ : 0;
}

bool RecordIntake::configure(Bus& bus, const std::string& pattern, std::size_t capacity) {
  if (sub_ && pattern == pattern_ && capacity == capacity_) return false;
  // Owner-less (shown as "(runtime)" in dumps): the subscription outlives
  // every run of record, and a run's ServiceStats may not.
  Subscription fresh = bus.subscribe(pattern, capacity, nullptr);
  if (sub_) {
    std::uint64_t lost = carried_lost_ + unreported_drops();
    carried_lost_ = 0;
    while (auto r = sub_->try_receive()) {
      carried_.push_back(Item{lost, std::move(*r)});
      lost = 0;
    }
    carried_lost_ = lost;  // drops with no reading after them yet: before the new queue's first
    past_drops_ += sub_->dropped();
  }
  sub_.emplace(std::move(fresh));
  seen_drops_ = 0;
  pattern_ = pattern;
  capacity_ = capacity;
  return true;
}

void RecordIntake::release() noexcept {
  if (!sub_) return;
  released_unrecorded_ += carried_.size() + carried_lost_ + sub_->depth() + unreported_drops();
  past_drops_ += sub_->dropped();
  sub_.reset();
  carried_.clear();
  carried_lost_ = 0;
  seen_drops_ = 0;
}

std::optional<RecordIntake::Item> RecordIntake::try_take() {
  if (!carried_.empty()) {
    Item item = std::move(carried_.front());
    carried_.pop_front();
    return item;
  }
  if (!sub_) return std::nullopt;
  auto r = sub_->try_receive();
  if (!r) return std::nullopt;
  const std::uint64_t lost = carried_lost_ + unreported_drops();
  carried_lost_ = 0;
  seen_drops_ = sub_->dropped();
  return Item{lost, std::move(*r)};
}

boost::asio::awaitable<RecordIntake::Item> RecordIntake::take(ServiceStats* stats, const Clock& clock,
                                                              std::source_location loc) {
  if (auto item = try_take()) co_return std::move(*item);
  if (!sub_) throw std::logic_error("record intake: take() before configure()");
  Subscription& sub = *sub_;
  Reading r;
  {
    std::optional<AwaitSiteScope> site;
    if (stats != nullptr) site.emplace(*stats, "bus receive", loc, clock.now());
    r = co_await sub.receive(loc);
  }
  // Drops counted by now were of readings older than r (drop-oldest), and
  // carried_ is empty (it was, and only configure() fills it).
  const std::uint64_t lost = carried_lost_ + unreported_drops();
  carried_lost_ = 0;
  seen_drops_ = sub_->dropped();
  co_return Item{lost, std::move(r)};
}

std::uint64_t RecordIntake::dropped() const noexcept { return past_drops_ + (sub_ ? sub_->dropped() : 0); }

std::size_t RecordIntake::depth() const noexcept { return carried_.size() + (sub_ ? sub_->depth() : 0); }

}  // namespace weft::apps
