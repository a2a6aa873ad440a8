// Point writes: the seam between a service that asks for a point to be set
// (ca, for a client's put) and the service that owns the point's hardware
// (gather, for its writable Modbus registers and coils). Neither knows the
// other: the owner registers a PointWriter per writable point on the bus's
// PointWrites; an asker finds it by point name, submits a PendingWrite and
// waits for its outcome. Loop thread only.
//
// Guarantees: a submitted request is answered exactly once (complete());
// the owner answers every request it holds when it stops or loses its
// device. The asker's wait has a timeout and honours cancellation; a
// request its asker gave up on is abandoned(), and an owner that has not
// started it drops it. The written value is never published by the seam:
// the owner's next reading of the point shows what the device holds.
//
//   submitted ──owner starts it──► on the wire ──device answers──► complete(ok | error)
//       │                              │
//       └──asker times out / stops──► abandoned (not started: dropped; started: finished, outcome unread)
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "weft/core/clock.hpp"
#include "weft/core/reading.hpp"

namespace weft {

struct WriteOutcome {
  bool ok = false;
  std::string error;  // why not: what was wrong, where (point, register), e.g. the device's exception
};

class PendingWrite {
public:
  // `who`: the asker's label for the owner's log ("ca user@host").
  PendingWrite(std::string point, Value value, std::string who)
      : point_(std::move(point)), value_(std::move(value)), who_(std::move(who)) {}
  PendingWrite(const PendingWrite&) = delete;
  PendingWrite& operator=(const PendingWrite&) = delete;

  const std::string& point() const noexcept { return point_; }
  const Value& value() const noexcept { return value_; }
  const std::string& who() const noexcept { return who_; }

  // ---- owner side ----
  // The asker gave up (timed out, or was stopped): do not start it.
  bool abandoned() const noexcept { return abandoned_; }
  bool done() const noexcept { return outcome_.has_value(); }
  const std::optional<WriteOutcome>& outcome() const noexcept { return outcome_; }
  // The answer; the first call wins, later ones are ignored. Wakes the asker.
  void complete(WriteOutcome outcome);
  void succeed() { complete({true, {}}); }
  void fail(std::string error) { complete({false, std::move(error)}); }

  // ---- asker side ----
  // The outcome, or {false, "no answer ... within T"} once `timeout` has
  // passed (the request is then abandoned). Cancel-safe: a cancellation
  // abandons the request and throws operation_aborted. One waiter at a time.
  boost::asio::awaitable<WriteOutcome> wait(Duration timeout);

private:
  std::string point_;
  Value value_;
  std::string who_;
  std::optional<WriteOutcome> outcome_;
  bool abandoned_ = false;
  std::function<void()> wake_;  // set while the asker waits
};

// Implemented by a point's owner. submit() never blocks: it answers at once
// (a value out of range, the device not reachable) or queues the request
// and answers later.
class PointWriter {
public:
  virtual ~PointWriter() = default;
  virtual void submit(std::shared_ptr<PendingWrite> request) = 0;
};

// Writable points by name. One writer per point.
class PointWrites {
public:
  // Removes its writer when destroyed (keep it as long as the writer lives).
  class Registration {
  public:
    Registration() = default;
    Registration(Registration&& other) noexcept : owner_(other.owner_), point_(std::move(other.point_)) {
      other.owner_ = nullptr;
    }
    Registration& operator=(Registration&& other) noexcept;
    ~Registration() { reset(); }
    void reset() noexcept;

  private:
    friend class PointWrites;
    Registration(PointWrites* owner, std::string point) : owner_(owner), point_(std::move(point)) {}
    PointWrites* owner_ = nullptr;
    std::string point_;
  };

  // Throws std::logic_error if the point already has a writer.
  [[nodiscard]] Registration add(std::string point, PointWriter& writer);
  PointWriter* find(std::string_view point) const noexcept;
  std::size_t size() const noexcept { return writers_.size(); }
  // Bumped whenever a writer is added or removed (an owner started or
  // stopped, a reload changed which points are writable): an asker that
  // shows writability (ca's ACCESS_RIGHTS) looks again when it moved.
  std::uint64_t changes() const noexcept { return changes_; }

private:
  std::map<std::string, PointWriter*, std::less<>> writers_;
  std::uint64_t changes_ = 0;
};

}  // namespace weft
