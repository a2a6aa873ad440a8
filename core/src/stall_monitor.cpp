// The stall monitor's thread: polls the loop beacon every `poll`, turns a
// loop that has not turned for too long into one stall report (and one
// "over" report), or a hang. Callbacks run on this thread, never on the loop.
#include "weft/core/stall_monitor.hpp"

#include "weft/core/service_stats.hpp"

namespace weft {
namespace {

std::int64_t steady_ns() noexcept {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

}  // namespace

StallMonitor::StallMonitor(const LoopBeacon& beacon, StallMonitorOptions options, Hooks hooks)
    : beacon_(beacon), options_(options), hooks_(std::move(hooks)) {}

StallMonitor::~StallMonitor() { stop(); }

void StallMonitor::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = false;
  }
  thread_ = std::thread([this] { run(); });
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
    poll_once(steady_ns());
    lock.lock();
  }
}

void StallMonitor::poll_once(std::int64_t now_ns) {
  const std::int64_t turn = beacon_.turn_ns.load(std::memory_order_relaxed);
  const Duration age(now_ns - turn);
  const bool stalled = age > options_.stall_threshold;

  if (reported_turn_ >= 0 && turn != reported_turn_) {  // the loop turned again
    StallEvent over = ongoing_;
    reported_turn_ = -1;
    {
      std::lock_guard lock(mutex_);
      counters_.stalled_now = false;
    }
    if (hooks_.on_stall_end) hooks_.on_stall_end(over);
  }
  if (stalled && reported_turn_ != turn) {
    reported_turn_ = turn;
    ongoing_ = StallEvent{};
    ongoing_.stalled_for = age;
    if (hooks_.describe) hooks_.describe(beacon_.current.load(std::memory_order_relaxed), ongoing_);
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
  if (stalled && age > options_.hang_threshold && !hang_reported_) {
    hang_reported_ = true;
    ongoing_.hang = true;
    if (hooks_.on_hang) hooks_.on_hang(ongoing_);
  }
}

}  // namespace weft
