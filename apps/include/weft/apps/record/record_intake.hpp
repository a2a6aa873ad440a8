// The record service's intake: its bus subscription, owned by the process
// instead of by one run of record, so readings published while record
// restarts (a reload of [service.record] or [store], a crash-restart, a
// console stop + start) wait here and are recorded by the next run, each
// exactly once, in publish order. weftd creates one (main.cpp) and hands it
// to record's factory through RunMode::record_intake; without one (tests,
// --check-config, `reload --dry-run` never run record) a run keeps a
// private intake, subscribed for that run only.
//
// Bounded: the subscription's queue holds at most `capacity` readings
// ([service.record] capacity). Past it the bus drops the OLDEST, counted;
// the next take() reports how many were dropped just before the reading it
// returns (lost_before), so the run gives them seqs and records them as a
// gap in their place (Store::append_lost): never silent.
//
// A run that asks for a different pattern or capacity (a reload changed
// them) gets a new subscription in one step on the loop thread: the new one
// is made, the old one's queued readings (and drops not yet reported) move
// to `carried_`, which take() empties first, and the old one is released.
// No publish can fall between (one thread), so nothing is lost or doubled;
// a reading published before the change was selected by the old pattern.
//
//   detached --configure(bus,...)--> subscribed --configure(other settings)--> subscribed (new queue, old carried)
//       ^                                 |
//       +------------- release() ---------+   (before the Bus goes: weftd's main, a test)
//
// Loop thread only. One taker at a time (one record run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <source_location>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "weft/core/bus.hpp"

namespace weft {
struct ServiceStats;
}

namespace weft::apps {

class RecordIntake {
public:
  struct Item {
    std::uint64_t lost_before = 0;  // readings the bus dropped just before this one (to record as lost first)
    Reading reading;
  };

  RecordIntake() = default;
  ~RecordIntake() { release(); }  // the Bus must still exist (or release() was called)
  RecordIntake(const RecordIntake&) = delete;
  RecordIntake& operator=(const RecordIntake&) = delete;

  // Subscribes to `bus`, or keeps the subscription when pattern and
  // capacity are unchanged, or swaps it as described above. Returns true if
  // it (re)subscribed.
  bool configure(Bus& bus, const std::string& pattern, std::size_t capacity);
  // Drops the subscription and whatever waited in it (counted in
  // released_unrecorded()); the next configure() starts afresh.
  void release() noexcept;
  bool subscribed() const noexcept { return sub_.has_value(); }

  // The next reading, carried ones first. Cancel-safe: a reading is either
  // returned or stays queued. `stats`: the taking run's, for its await site.
  boost::asio::awaitable<Item> take(ServiceStats* stats, const Clock& clock,
                                    std::source_location loc = std::source_location::current());
  std::optional<Item> try_take();

  // Bus drops over this process (every subscription), and waiting readings.
  std::uint64_t dropped() const noexcept;
  std::size_t depth() const noexcept;
  std::size_t capacity() const noexcept { return capacity_; }
  const std::string& pattern() const noexcept { return pattern_; }
  // Readings (and drops) still waiting when release() ran: lost with no seq
  // (the process was ending); for the log and tests.
  std::uint64_t released_unrecorded() const noexcept { return released_unrecorded_; }

private:
  std::uint64_t unreported_drops() const noexcept;

  std::optional<Subscription> sub_;
  std::string pattern_;
  std::size_t capacity_ = 0;
  std::uint64_t seen_drops_ = 0;       // sub_->dropped() already reported through an Item
  std::uint64_t past_drops_ = 0;       // drops of released subscriptions (for dropped())
  std::deque<Item> carried_;           // from a swapped-out subscription; taken first
  std::uint64_t carried_lost_ = 0;     // drops of a swapped-out subscription not attached to a carried item
  std::uint64_t released_unrecorded_ = 0;
};

// Releases an intake's subscription when it goes out of scope: declare it
// right after the Runtime whose bus the intake subscribes to.
class RecordIntakeRelease {
public:
  explicit RecordIntakeRelease(RecordIntake& intake) noexcept : intake_(intake) {}
  ~RecordIntakeRelease() { intake_.release(); }
  RecordIntakeRelease(const RecordIntakeRelease&) = delete;
  RecordIntakeRelease& operator=(const RecordIntakeRelease&) = delete;

private:
  RecordIntake& intake_;
};

}  // namespace weft::apps
