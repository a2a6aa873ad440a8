// Internal: the runtime's parts and the per-service record. Member order is
// destruction order in reverse: the io_context is declared first so it is
// destroyed last, after everything that holds handlers or io objects on it.
// A record is never destroyed while the runtime lives: one removed from the
// table by a reload moves to `retired` (an abandoned run may still hold its
// Context, its stats are named in the loop beacon).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "blocking_pool.hpp"
#include "health.hpp"
#include "loop_faults.hpp"
#include "weft/core/bus.hpp"
#include "weft/core/clock_watch.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/config.hpp"
#include "weft/core/context.hpp"
#include "weft/core/critical_section.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/runtime_control.hpp"
#include "weft/core/service.hpp"
#include "weft/core/timer_queue.hpp"

namespace weft::detail {

enum class ServiceState { waiting, starting, running, restarting, backoff, stopping, stopped, failed };
const char* to_string(ServiceState s) noexcept;

class Supervisor;
struct ServiceRecord;

// A timer node that knows whose it is.
struct OwnedTimer : TimerNode {
  Supervisor* supervisor = nullptr;
  ServiceRecord* record = nullptr;
};

struct RuntimeCore;

// A runtime-level timer (clock check, stop_after).
struct OwnedCoreTimer : TimerNode {
  RuntimeCore* core = nullptr;
  Runtime* runtime = nullptr;
};

// A coroutine parked in RuntimeControl::wait_change (ParkedOp node).
struct ChangeWaiter {
  static constexpr bool kInlineWake = false;
  void (*on_due)(ChangeWaiter&) = nullptr;
  void (*on_abandon)(ChangeWaiter&) = nullptr;
};

// Every wait_change waiter: woken (posted) at each service state change.
class ChangeWaiters {
public:
  void add(ChangeWaiter& w) { waiters_.push_back(&w); }
  bool cancel(ChangeWaiter& w) noexcept;  // ParkedOp owner interface
  void wake_all();
  void abandon_all() noexcept;  // teardown: operation_aborted

private:
  std::vector<ChangeWaiter*> waiters_;
};

struct ServiceRecord {
  ServiceSpec spec;
  std::optional<ConfigSection> config;  // [service.NAME], if configured
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<Context> ctx;
  ServiceStats stats;

  ServiceState state = ServiceState::waiting;
  MonoTime state_since{};
  bool ready = false;
  bool start_timed_out = false;   // this run missed its start timeout
  bool ever_launched = false;
  std::uint64_t generation = 0;   // runs launched; an exit of an older run is ignored
  std::uint64_t restarts = 0;
  std::vector<MonoTime> failures;  // within the intensity period (at most intensity + 1)
  std::vector<ServiceRecord*> dependents;  // services that need this one (set at start)
  std::vector<ServiceRecord*> need_records;  // spec.needs resolved (set at start): no lookup by name later
  std::string last_error;
  std::string status_note;  // Context::set_status_note: appended to STATUS= (loop thread)
  std::unique_ptr<boost::asio::cancellation_signal> cancel;  // fresh per run
  // Runs abandoned after the stop grace live on: their cancellation state
  // lives in the signal's slot and they hold their Context, so keep both.
  struct AbandonedRun {
    std::unique_ptr<boost::asio::cancellation_signal> cancel;
    std::unique_ptr<Context> ctx;
  };
  std::vector<AbandonedRun> abandoned_runs;
  // Specs replaced by a reload while an abandoned run may still use them
  // (a coroutine's frame refers to its launcher's captures).
  std::vector<ServiceSpec> retired_specs;
  OwnedTimer timer;               // start timeout, backoff or stop grace
  std::unique_ptr<CriticalStats> critical;  // made by its first ctx.critical() (most services never have one)
  // Slice-budget episodes (slice_budget.cpp): stats.slices_over_budget at
  // the last clock check, and whether an episode is being reported.
  std::uint64_t over_budget_seen = 0;
  std::uint64_t over_budget_episode_start = 0;
  bool over_budget_episode = false;
};

class Supervisor {
public:
  explicit Supervisor(RuntimeCore& core) : core_(core) {}

  void validate_and_order();  // throws ServiceGraphError; sorts records_ by dependency
  void start();
  // A reload's table change (RuntimeControl::check_change/change_services).
  void check_change(const ServiceTableChange& change, bool require_stopped) const;  // throws ServiceGraphError
  void change_table(ServiceTableChange change);
  bool shutting_down() const noexcept { return shutting_down_; }
  ChangeWaiters& change_waiters() noexcept { return change_waiters_; }
  void on_ready(ServiceRecord& r, std::uint64_t generation);
  void begin_shutdown();
  bool stop_service(ServiceRecord& r);
  bool start_service(ServiceRecord& r);

private:
  void try_start(ServiceRecord& r);         // launches r if waiting and its needs are ready
  void set_ready(ServiceRecord& r, bool ready);
  void launch(ServiceRecord& r);
  void on_exit(ServiceRecord& r, std::uint64_t generation, std::exception_ptr error);
public:
  void on_timer(ServiceRecord& r);
  void abandon_run(ServiceRecord& r);

private:
  void record_failure(ServiceRecord& r, const std::string& reason);
  Duration backoff_for(const ServiceRecord& r);
  void set_state(ServiceRecord& r, ServiceState s);
  void arm(ServiceRecord& r, MonoTime deadline);
  void stop_next();
  bool needs_ready(const ServiceRecord& r) const;
  void init_timer(ServiceRecord& r);
  void link_needs();  // dependents and need_records of every record, from spec.needs

  RuntimeCore& core_;
  ChangeWaiters change_waiters_;
  bool shutting_down_ = false;
  bool all_ready_logged_ = false;
  std::size_t ready_count_ = 0;  // services with ready == true
  MonoTime shutdown_deadline_{};
  std::vector<ServiceRecord*> launch_order_;  // first launch order
  std::vector<ServiceRecord*> stop_queue_;
};

struct RuntimeCore {
  explicit RuntimeCore(RuntimeOptions opts);

  ServiceRecord* find(std::string_view name) noexcept;
  void finish();  // after shutdown: let run() return

  RuntimeOptions options;
  // Owned by pointer so teardown can destroy it (and the coroutine frames
  // its pending handlers own) while the parts below are still alive.
  std::unique_ptr<boost::asio::io_context> ioc_owner = std::make_unique<boost::asio::io_context>(1);
  boost::asio::io_context& ioc = *ioc_owner;
  std::unique_ptr<Clock> clock;
  VirtualClock* vclock = nullptr;
  TimerQueue timers;
  Bus bus;
  BlockingPool pool;
  ClockWatch clock_watch;
  std::shared_ptr<spdlog::logger> log;  // the runtime's own ("weft")
  // Before records: registrations held by services refer to it.
  Commands commands{ioc.get_executor()};
  RuntimeControl control{*this};
  std::vector<std::unique_ptr<ServiceRecord>> records;
  std::vector<std::unique_ptr<ServiceRecord>> retired;  // removed by a reload (see the top comment)
  Supervisor supervisor{*this};
  std::function<void()> reload_hook;  // SIGHUP (Runtime::set_reload_hook); empty: logged, nothing changes
  std::string reload_note;            // RuntimeControl::set_reload_note
  std::string update_note;            // RuntimeControl::set_update_note
  std::mt19937_64 rng;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  int exit_code = kExitOk;
  bool stop_requested = false;
  OwnedCoreTimer clock_check;
  OwnedCoreTimer stop_timer;
  // [realtime], applied by run(); the loop thread's id and page faults
  // (sampled at each clock check) are kept with or without it, for `rt`.
  std::optional<RealtimeProfile> realtime;
  int loop_tid = 0;
  LoopFaults loop_faults;
  CommandRegistration realtime_command;
  // Last: destroyed first (it holds timers, a signal set, a monitor thread
  // that reads the records).
  Health health{*this};
};

// At each clock check: one warning when a service's slices start going over
// its slice_budget, one line when a whole check period passed without one
// (slice_budget.cpp).
void report_slice_budgets(RuntimeCore& core);
// Memory budgets (memory_budget.cpp): logs a refusal at the memory_limit
// once (on the service's exit, or at the next clock check), and samples
// every account for the leak rule at each clock check.
void report_memory_refusal(ServiceRecord& r);
void report_memory(RuntimeCore& core);

// The console's `rt` (realtime_command.cpp).
CommandRegistration register_realtime_command(RuntimeCore& core);

}  // namespace weft::detail
