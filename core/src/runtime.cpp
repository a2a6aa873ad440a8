// The runtime: builds the parts, drives the loop (real, or virtual time),
// handles SIGINT/SIGTERM and SIGHUP (never fatal: it calls the reload hook
// weftd sets, or says that nothing reloads here), and tears down without
// leaking parked coroutines.
#include "weft/core/runtime.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "alloc_accounting.hpp"
#include "runtime_core.hpp"
#include "weft/core/critical_section.hpp"
#include "weft/core/log.hpp"

namespace weft {
namespace detail {

RuntimeCore::RuntimeCore(RuntimeOptions opts)
    : options(opts),
      clock(opts.virtual_time ? std::unique_ptr<Clock>(new VirtualClock) : std::unique_ptr<Clock>(new RealClock)),
      vclock(opts.virtual_time ? static_cast<VirtualClock*>(clock.get()) : nullptr),
      timers(*clock, ioc),
      bus(*clock),
      pool(opts.blocking_threads),
      clock_watch(*clock, opts.clock_warp_threshold),
      log(logging::make_logger("weft")),
      rng(opts.seed != 0 ? opts.seed : static_cast<std::uint64_t>(RealClock{}.wall_ns())) {
  link_allocation_accounting();
}

ServiceRecord* RuntimeCore::find(std::string_view name) noexcept {
  for (auto& r : records)
    if (r->spec.name == name) return r.get();
  return nullptr;
}

void RuntimeCore::finish() {
  work.reset();
  ioc.stop();
}

namespace {

void schedule_clock_check(RuntimeCore& core);

void on_clock_check(TimerNode& node) {
  RuntimeCore& core = *static_cast<OwnedCoreTimer&>(node).core;
  if (auto event = core.clock_watch.check()) {
    const double jump_s = static_cast<double>(event->new_offset_ns - event->old_offset_ns) / 1e9;
    core.log->warn("wall clock jumped by {:+.3f} s against the monotonic clock (offset {} -> {} ns); "
                   "readings carry monotonic time and boot id, so their timestamps can be corrected",
                   jump_s, event->old_offset_ns, event->new_offset_ns);
    core.bus.publish(Reading{"weft.clock.offset_ns", Value{event->new_offset_ns}, Quality::good,
                             to_ns(core.clock->now()), BootId::current(), core.clock->wall_ns()});
  }
  core.loop_faults.sample();
  report_slice_budgets(core);
  report_memory(core);
  schedule_clock_check(core);
}

void schedule_clock_check(RuntimeCore& core) {
  const Duration period = core.options.clock_check_period;
  core.clock_check.core = &core;
  core.clock_check.on_due = on_clock_check;
  core.timers.schedule(core.clock_check, core.clock->now() + period, period / 10);
}

// Virtual time: run whatever is ready; when nothing is, jump the clock to
// the next timer window end. Blocking-pool work in flight is real work, so
// time waits for it; with no timers at all, wait for real events (signals).
void run_virtual(RuntimeCore& core) {
  while (!core.ioc.stopped()) {
    if (core.ioc.poll() > 0) continue;
    if (core.ioc.stopped()) break;
    const auto next = core.timers.next_expiry();
    if (core.pool.outstanding() > 0 || !next) {
      core.ioc.run_one();
      continue;
    }
    core.vclock->advance_to(*next);
    core.timers.expire(core.clock->now());
  }
}

// On the loop thread, before any service starts: the threads that exist
// now (pool, log, stall monitor) are the ones it moves to the helper CPUs.
void apply_realtime(RuntimeCore& core) {
  core.loop_tid = static_cast<int>(::syscall(SYS_gettid));
  if (core.options.realtime.critical_allocations) set_critical_allocation_mode(*core.options.realtime.critical_allocations);
  if (core.options.realtime.any()) {
    core.realtime.emplace(core.options.realtime);
    for (const std::string& w : core.realtime->warnings()) core.log->warn("{}", w);
    const RealtimeOptions& o = core.options.realtime;
    const bool rt_policy = core.realtime->policy_applied();
    core.log->info("real-time profile: loop thread {} policy {}{}, memory {}, cpu_dma_latency {}", core.loop_tid,
                   rt_policy ? to_string(o.policy) : "other",
                   rt_policy ? " priority " + std::to_string(o.priority) : "",
                   core.realtime->memory_locked() ? "locked" : "not locked",
                   core.realtime->dma_latency_held() ? "held at 0" : "not held");
  }
  core.loop_faults.start();
  core.realtime_command = register_realtime_command(core);
}

}  // namespace
}  // namespace detail

Runtime::Runtime(RuntimeOptions options) : core_(std::make_unique<detail::RuntimeCore>(options)) {}

Runtime::~Runtime() {
  auto& core = *core_;
  // Release coroutines parked on our own queues (their frames would leak:
  // Asio does not know them), then let Asio destroy what it holds, while
  // the bus, timers and records those frames refer to are still alive.
  core.timers.abandon_all();
  core.bus.abandon_waiters();
  core.commands.abandon_waiters();
  core.supervisor.change_waiters().abandon_all();
  core.pool.join();
  core.timers.release_kernel_timer();
  core.work.reset();  // a run() that threw leaves it: it must go before its io_context
  core.ioc_owner.reset();  // destroys pending handlers without running them
}

void Runtime::add(ServiceSpec spec, std::optional<ConfigSection> config) {
  auto& core = *core_;
  auto record = std::make_unique<detail::ServiceRecord>();
  record->spec = std::move(spec);
  record->config = std::move(config);
  record->logger = logging::make_logger(record->spec.name);
  record->ctx = std::make_unique<Context>(core, *record);
  core.records.push_back(std::move(record));
}

int Runtime::run() {
  auto& core = *core_;
  core.supervisor.validate_and_order();
  core.health.before_loop();  // throws DataDirBusyError
  struct HealthGuard {
    detail::Health& health;
    ~HealthGuard() { health.after_loop(); }
  } health_guard{core.health};
  core.work.emplace(core.ioc.get_executor());

  std::optional<boost::asio::signal_set> signals;
  std::function<void(const boost::system::error_code&, int)> on_signal;
  if (core.options.handle_signals) {
    // SIGHUP is what admins (and systemctl reload) send to reload; its
    // default action would kill the process. It is caught and runs the
    // reload hook (weftd's reload coordinator); without one (a runtime
    // assembled by hand, --simulate) it is said so, and changes nothing.
    signals.emplace(core.ioc, SIGINT, SIGTERM, SIGHUP);
    on_signal = [&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        if (core.reload_hook && !core.stop_requested) {
          core.log->info("signal {} (SIGHUP): reloading the config", signo);
          core.reload_hook();
        } else if (core.stop_requested) {
          core.log->warn("signal {} (SIGHUP) while stopping: nothing is reloaded", signo);
        } else {
          core.log->warn("signal {} (SIGHUP): this runtime has no live reload (no config file to reload); nothing "
                         "changed. To apply a changed config file, run `systemctl restart weftd`",
                         signo);
        }
        signals->async_wait(on_signal);
        return;
      }
      if (core.stop_requested) {
        core.log->warn("signal {} again: stopping now without waiting for services", signo);
        core.exit_code = 1;
        core.finish();
        return;
      }
      core.log->info("signal {}: stopping services (at most {} ms)", signo,
                     std::chrono::duration_cast<std::chrono::milliseconds>(core.options.stop_grace).count());
      request_stop(kExitOk);
      signals->async_wait(on_signal);
    };
    signals->async_wait(on_signal);
  }

  detail::apply_realtime(core);  // throws RealtimeError
  core.log->info("starting {} services{}", core.records.size(), core.vclock ? " on the virtual clock" : "");
  detail::schedule_clock_check(core);
  core.supervisor.start();
  if (!core.stop_requested) {
    if (core.vclock) detail::run_virtual(core);
    else core.ioc.run();
  }
  core.health.after_loop();  // now: the monitor must not watch a loop that has finished
  if (signals) signals->cancel();
  core.timers.cancel(core.clock_check);
  core.timers.cancel(core.stop_timer);
  logging::flush();
  return core.exit_code;
}

void Runtime::request_stop(int exit_code) {
  auto& core = *core_;
  if (core.stop_requested) return;
  core.stop_requested = true;
  if (core.exit_code == kExitOk) core.exit_code = exit_code;
  core.supervisor.begin_shutdown();
}

void Runtime::set_reload_hook(std::function<void()> hook) { core_->reload_hook = std::move(hook); }

void Runtime::stop_after(Duration d) {
  auto& core = *core_;
  core.timers.cancel(core.stop_timer);
  core.stop_timer.core = &core;
  core.stop_timer.runtime = this;
  core.stop_timer.on_due = [](TimerNode& n) { static_cast<detail::OwnedCoreTimer&>(n).runtime->request_stop(); };
  core.timers.schedule(core.stop_timer, core.clock->now() + d, Duration::zero());
}

bool Runtime::stop_service(std::string_view name) {
  auto* r = core_->find(name);
  return r != nullptr && core_->supervisor.stop_service(*r);
}

bool Runtime::start_service(std::string_view name) {
  auto* r = core_->find(name);
  return r != nullptr && core_->supervisor.start_service(*r);
}

std::vector<ServiceSnapshot> Runtime::snapshot() const {
  std::vector<ServiceSnapshot> out;
  for (const auto& r : core_->records)
    out.push_back(ServiceSnapshot{r->spec.name, detail::to_string(r->state), r->ready, r->restarts, r->last_error,
                                  r->state_since, r->stats});
  return out;
}

LoopLagSnapshot Runtime::loop_lag() const { return core_->health.loop_lag(); }
StallCounters Runtime::stall_counters() const { return core_->health.stall_counters(); }
std::string Runtime::dump_text(const std::string& reason) const { return core_->health.dump_text(reason); }
DumpSectionHandle Runtime::add_dump_section(std::string title, std::function<std::string()> producer) {
  return core_->health.sections().add(std::move(title), std::move(producer));
}

const Clock& Runtime::clock() const noexcept { return *core_->clock; }
VirtualClock* Runtime::virtual_clock() noexcept { return core_->vclock; }
Bus& Runtime::bus() noexcept { return core_->bus; }
TimerQueue& Runtime::timers() noexcept { return core_->timers; }
const ClockWatch& Runtime::clock_watch() const noexcept { return core_->clock_watch; }
boost::asio::io_context& Runtime::io_context() noexcept { return core_->ioc; }
Commands& Runtime::commands() noexcept { return core_->commands; }
RuntimeControl& Runtime::control() noexcept { return core_->control; }

}  // namespace weft
