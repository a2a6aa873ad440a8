// Internal: the runtime's health wiring, one object per Runtime. It owns
// the loop lag probe, the stall monitor thread (which is also the thread
// that talks to systemd, so no notify datagram is ever sent from the loop),
// the data-dir lock, crash handler setup and pending crash reports, SIGUSR1
// dumps, dump sections and the console's `loop`, `dump`, `crashes`.
//
//   run(): before_loop() ─► loop runs ─► after_loop()
//   loop ──(probe timer, slices)──► LoopBeacon ──► monitor thread
//   loop ──(health tick: STATUS, crash loop)──► Mailbox ──► monitor ──► sd_notify
//   loop ──(health tick: a dump's state)──► HangSnapshot ──► monitor (hang dump)
//
// The monitor thread touches nothing the loop owns: it reads the beacon,
// the mailbox and the hang snapshot (each made for it), the service names
// (a copy, replaced under a mutex when a reload changes the table), options
// and the logger (thread-safe). A reload's RELOADING=1 (with
// MONOTONIC_USEC=) and READY=1 go through the mailbox in order.
//
// Hazard: sd_notify blocks when the notify socket's queue is full, i.e.
// when systemd stops reading it; the monitor thread then stops watching
// too. systemd reads it always; a wedged systemd is beyond our help.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hang_snapshot.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/data_dir_lock.hpp"
#include "weft/core/dump.hpp"
#include "weft/core/loop_lag.hpp"
#include "weft/core/stall_monitor.hpp"
#include "weft/core/timer_queue.hpp"

namespace weft::detail {

struct RuntimeCore;
class Health;

struct HealthTimer : TimerNode {
  Health* health = nullptr;
};

class Health {
public:
  explicit Health(RuntimeCore& core);
  ~Health();
  Health(const Health&) = delete;
  Health& operator=(const Health&) = delete;

  // Loop thread, before the loop runs: throws DataDirBusyError.
  void before_loop();
  void after_loop() noexcept;

  void on_all_ready();  // READY=1
  void on_stopping();   // STOPPING=1
  void on_reloading();  // RELOADING=1 + MONOTONIC_USEC= (CLOCK_MONOTONIC now)
  void on_reloaded();   // READY=1 (the reload is over)
  void on_services_changed();  // loop thread: the table changed (names for hangs and crashes)
  void refresh_status();  // loop thread: STATUS= now, not at the next tick

  std::string dump_text(const std::string& reason) const;  // loop thread
  // Formats now, writes on the blocking pool (data_dir set), logs the text.
  void dump_on_signal();
  LoopLagSnapshot loop_lag() const { return lag_.snapshot(probe_period_); }
  StallCounters stall_counters() const;
  DumpSections& sections() noexcept { return sections_; }

private:
  struct Mailbox;  // loop -> monitor thread: systemd messages
  struct Signals;

  DumpInput dump_input(const std::string& reason) const;
  const std::string* name_of(const ServiceStats* stats) const noexcept;  // loop thread
  void refresh_hang_snapshot();  // loop thread
  void describe(const LoopTurn& turn, StallEvent& event) const;  // monitor thread, as the rest below
  void prepare_hang(const StallEvent& event);
  void start_probe();
  void on_probe();
  void on_tick();
  std::string status_line(bool& looping) const;
  void set_names();  // from core_.records, under names_mutex_
  void start_monitor();
  void on_hang(const StallEvent& event);
  void on_poll(bool loop_healthy);
  void send_mail();  // pending READY/STATUS/STOPPING (monitor thread, or after it stopped)
  void listen_usr1();
  void register_commands();
  std::string dumps_dir() const;
  std::string crash_dir() const;

  RuntimeCore& core_;
  Duration probe_period_{};
  LoopLag lag_;
  LoopBeacon beacon_;
  DumpSections sections_;
  HangSnapshot hang_snapshot_;
  // Written on the loop (before the monitor starts, and when a reload
  // changes the table), read by the monitor thread: under names_mutex_.
  mutable std::mutex names_mutex_;
  std::vector<std::pair<const ServiceStats*, std::string>> service_names_;
  bool loop_set_ = false;  // between before_loop and after_loop
  std::shared_ptr<const DumpInput> hang_input_;  // monitor thread: prepare_hang -> on_hang
  std::optional<DataDirLock> lock_;
  std::unique_ptr<Mailbox> mailbox_;
  std::unique_ptr<StallMonitor> monitor_;
  StallCounters final_counters_;  // kept when the monitor stops
  std::unique_ptr<Signals> signals_;
  HealthTimer probe_;
  HealthTimer tick_;
  std::atomic<bool> crash_looping_{false};
  std::atomic<bool> hung_{false};
  std::vector<CommandRegistration> commands_;
  std::optional<Duration> watchdog_ping_;  // half of WATCHDOG_USEC
  std::chrono::steady_clock::time_point next_ping_{};  // monitor thread only
};

}  // namespace weft::detail
