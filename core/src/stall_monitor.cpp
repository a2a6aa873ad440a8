// The stall monitor's thread: polls the loop beacon every `poll`, turns a
// loop that has not turned for too long into one stall report (and one
// "over" report), or a hang. Callbacks run on this thread, never on the loop.
// Each look reads the clock first, then the beacon: a turn the beacon still
// shows afterwards has run at least `now - start`, so an age is never an
// overestimate, and a hang is acted on only once it is certain.
#include "weft/core/stall_monitor.hpp"

#include "weft/core/realtime.hpp"

namespace weft {

StallMonitor::StallMonitor(const LoopBeacon& beacon, StallMonitorOptions options, Hooks hooks)
    : beacon_(beacon), options_(options), hooks_(std::move(hooks)) {}

StallMonitor::~StallMonitor() { stop(); }

void StallMonitor::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    enter_helper_thread("weft-stall");  // never the loop's real-time policy or CPUs (realtime.hpp)
    run();
  });
}

void StallMonitor::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StallMonitor::wake() noexcept {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

StallCounters StallMonitor::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void StallMonitor::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    cv_.wait_for(lock, options_.poll, [this] { return stop_ || woken_; });
    if (stop_) break;
    woken_ = false;
    lock.unlock();
    poll();
    lock.lock();
  }
}

std::int64_t StallMonitor::now_ns() const {
  if (options_.clock) return options_.clock();
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

std::optional<Duration> StallMonitor::still_hung(std::uint64_t turn) const {
  const std::int64_t now = now_ns();
  const std::optional<LoopTurn> seen = beacon_.read();
  if (!seen || seen->turn != turn) return std::nullopt;  // the loop turned (or is turning)
  const Duration age(now - seen->start_ns);
  if (age <= options_.hang_threshold) return std::nullopt;
  return age;
}

void StallMonitor::poll() {
  const std::int64_t now = now_ns();
  const std::optional<LoopTurn> seen = beacon_.read();
  if (!seen) {  // mid-write on every try: the loop is turning right now
    if (hooks_.on_poll) hooks_.on_poll(true);
    return;
  }
  const Duration age(now - seen->start_ns);
  const bool stalled = age > options_.stall_threshold;

  if (reported_turn_ && seen->turn != *reported_turn_) {  // the loop turned again
    StallEvent over = ongoing_;
    reported_turn_.reset();
    {
      std::lock_guard lock(mutex_);
      counters_.stalled_now = false;
    }
    if (hooks_.on_stall_end) hooks_.on_stall_end(over);
  }
  if (stalled && reported_turn_ != seen->turn) {
    reported_turn_ = seen->turn;
    ongoing_ = StallEvent{};
    ongoing_.stalled_for = age;
    ongoing_.turn = seen->turn;
    if (hooks_.describe) hooks_.describe(*seen, ongoing_);
    {
      std::lock_guard lock(mutex_);
      ++counters_.stalls;
      counters_.stalled_now = true;
      counters_.last = ongoing_;
    }
    if (hooks_.on_stall) hooks_.on_stall(ongoing_);
  } else if (stalled) {
    ongoing_.stalled_for = age;
    std::lock_guard lock(mutex_);
    counters_.last = ongoing_;
  }
  if (hooks_.on_poll) hooks_.on_poll(!stalled);
  if (stalled && age > options_.hang_threshold && hang_turn_ != seen->turn) {
    hang_turn_ = seen->turn;
    StallEvent hang = ongoing_;
    hang.hang = true;
    if (hooks_.prepare_hang) hooks_.prepare_hang(hang);
    // The hooks above took time (a systemd datagram, a snapshot): look
    // again, right before acting. A stall that ended meanwhile is reported
    // as over at the next poll, and is no hang.
    const std::optional<Duration> still = still_hung(seen->turn);
    if (!still) return;
    hang.stalled_for = *still;
    ongoing_ = hang;
    {
      std::lock_guard lock(mutex_);
      counters_.last = ongoing_;
    }
    if (hooks_.on_hang) hooks_.on_hang(hang);
  }
}

}  // namespace weft
