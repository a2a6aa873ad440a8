// The stall monitor: a small watchdog thread, the only thread that watches
// the loop. The loop thread publishes where it is in a LoopBeacon (which
// service's handler runs, since when, the wait it resumed from); the
// monitor polls it and
//   - after `stall_threshold` without a loop turn reports a stall once
//     (the culprit service, how long, its last await site),
//   - after `hang_threshold` reports a hang (the runtime then writes a dump
//     and exits the process non-zero; see Health in core/src/health.cpp),
//     but only after looking again, right before the hang hook runs: the
//     same turn still running, still past the threshold. A stall that ends
//     while the monitor gets ready is no hang.
// It reads only the beacon (one whole turn's record at a time). It never
// blocks the loop: the loop only stores.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "weft/core/clock.hpp"
#include "weft/core/loop_beacon.hpp"

namespace weft {

struct StallEvent {
  std::string culprit;     // "service 'x'" or "runtime code (no service running)"
  Duration stalled_for{};  // since the loop last turned
  std::string last_site;   // the culprit's last await site, or empty
  bool hang = false;       // past hang_threshold
  std::uint64_t turn = 0;  // the loop turn that stalled (LoopTurn::turn)
};

struct StallMonitorOptions {
  Duration stall_threshold = std::chrono::milliseconds(100);
  Duration hang_threshold = std::chrono::seconds(5);
  Duration poll = std::chrono::milliseconds(25);  // how often the thread looks
  // steady_clock ns, as the beacon's start_ns; null: std::chrono::steady_clock.
  // Tests inject one to drive poll() deterministically.
  std::function<std::int64_t()> clock;
};

struct StallCounters {
  std::uint64_t stalls = 0;
  std::optional<StallEvent> last;  // the longest observation of the latest stall
  bool stalled_now = false;
};

class StallMonitor {
public:
  // Every hook runs on the monitor thread (or poll()'s caller), never on the loop.
  struct Hooks {
    // Names the culprit and its last await site from one turn's record
    // (compare `turn.service` as an address: the stats belong to the loop).
    std::function<void(const LoopTurn& turn, StallEvent& event)> describe;
    std::function<void(const StallEvent&)> on_stall;  // once per stall
    std::function<void(const StallEvent&)> on_stall_end;
    // Once per hung turn, before the re-check: gather what on_hang needs
    // (it may take a while) and change nothing else: the hang may not be one.
    std::function<void(const StallEvent&)> prepare_hang;
    // Once per hung turn, only if the re-check after prepare_hang found the
    // same turn still running past hang_threshold. Expected not to return (exits).
    std::function<void(const StallEvent&)> on_hang;
    std::function<void(bool healthy)> on_poll;  // every poll: loop not stalled now
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
  // One poll on the calling thread, as the thread does every `poll`: for
  // tests with an injected clock. Not while the thread runs.
  void poll();

private:
  void run();
  std::int64_t now_ns() const;
  // The hung turn's age if `turn` still runs past hang_threshold now.
  std::optional<Duration> still_hung(std::uint64_t turn) const;

  const LoopBeacon& beacon_;
  StallMonitorOptions options_;
  Hooks hooks_;
  mutable std::mutex mutex_;  // guards stop_, woken_, counters_
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  StallCounters counters_;
  // Monitor thread only.
  std::optional<std::uint64_t> reported_turn_;  // the turn whose stall was reported
  std::optional<std::uint64_t> hang_turn_;      // the turn that went to the hang path
  StallEvent ongoing_;
  std::thread thread_;
};

}  // namespace weft
