// The stall monitor: a small watchdog thread, the only thread that watches
// the loop. The loop thread publishes where it is in a LoopBeacon (which
// service's handler runs, since when); the monitor polls it and
//   - after `stall_threshold` without a loop turn reports a stall once
//     (the culprit service, how long, its last await site),
//   - after `hang_threshold` reports a hang (the runtime then writes a dump
//     and exits the process non-zero; see Health in core/src/health.cpp).
// It reads only the beacon's atomics plus what `describe` reads (see the
// hazard note there). It never blocks the loop: the loop only stores.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "weft/core/clock.hpp"

namespace weft {

struct ServiceStats;

// Written by the loop thread (relaxed stores, a few ns per handler), read by
// the monitor thread and the crash handler.
struct LoopBeacon {
  // The service whose handler runs now; null between handlers or in runtime code.
  std::atomic<const ServiceStats*> current{nullptr};
  // steady_clock ns of the last loop turn: a service slice began or ended,
  // or the loop's probe timer ran. An idle loop turns at the probe period.
  std::atomic<std::int64_t> turn_ns{0};
  // The loop thread's kernel thread id (crash reports say whether the crash
  // was on the loop).
  std::atomic<int> loop_tid{0};

  void turn(const ServiceStats* running, std::int64_t now_ns) noexcept {
    current.store(running, std::memory_order_relaxed);
    turn_ns.store(now_ns, std::memory_order_relaxed);
  }
};

// Makes SliceScope on this thread report to `beacon` (null: stop). The
// runtime sets it on its loop thread for the length of run().
void set_thread_loop_beacon(LoopBeacon* beacon) noexcept;

struct StallEvent {
  std::string culprit;     // "service 'x'" or "runtime code (no service running)"
  Duration stalled_for{};  // since the loop last turned
  std::string last_site;   // the culprit's last await site, or empty
  bool hang = false;       // past hang_threshold
};

struct StallMonitorOptions {
  Duration stall_threshold = std::chrono::milliseconds(100);
  Duration hang_threshold = std::chrono::seconds(5);
  Duration poll = std::chrono::milliseconds(25);  // how often the thread looks
};

struct StallCounters {
  std::uint64_t stalls = 0;
  std::optional<StallEvent> last;  // the longest observation of the latest stall
  bool stalled_now = false;
};

class StallMonitor {
public:
  struct Hooks {
    // Names the culprit and its last await site (monitor thread). Hazard:
    // it may read the culprit's ServiceStats while the loop thread owns it;
    // it is called only once the loop has been inside that one slice past
    // the threshold, when the slice writes nothing of its own stats.
    std::function<void(const ServiceStats* running, StallEvent& event)> describe;
    std::function<void(const StallEvent&)> on_stall;  // once per stall
    std::function<void(const StallEvent&)> on_stall_end;
    std::function<void(const StallEvent&)> on_hang;  // once; expected not to return (exits)
    std::function<void(bool healthy)> on_poll;      // every poll: loop not stalled now
  };

  StallMonitor(const LoopBeacon& beacon, StallMonitorOptions options, Hooks hooks);
  ~StallMonitor();  // stops and joins the thread
  StallMonitor(const StallMonitor&) = delete;
  StallMonitor& operator=(const StallMonitor&) = delete;

  void start();
  void stop() noexcept;
  void wake() noexcept;  // run a poll now (e.g. a systemd message is queued)
  StallCounters counters() const;
  const StallMonitorOptions& options() const noexcept { return options_; }

private:
  void run();
  void poll_once(std::int64_t now_ns);

  const LoopBeacon& beacon_;
  StallMonitorOptions options_;
  Hooks hooks_;
  mutable std::mutex mutex_;  // guards stop_, woken_, counters_
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  StallCounters counters_;
  // Monitor thread only.
  std::int64_t reported_turn_ = -1;  // turn_ns of the stall already reported
  bool hang_reported_ = false;
  StallEvent ongoing_;
  std::thread thread_;
};

}  // namespace weft
