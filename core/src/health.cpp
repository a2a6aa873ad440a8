// The runtime's health wiring (see health.hpp): loop lag probe, stall
// monitor + systemd notifier thread, hang exit, data-dir lock, crash
// reports, SIGUSR1 dumps and the console's loop/dump/crashes commands.
// On the virtual clock there is no probe and no monitor thread: lag and
// stalls are real-time notions, and virtual runs are simulations.
// Threads: everything here runs on the loop except the hooks under "the
// monitor thread" below, which read only what health.hpp lists.
#include "health.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <time.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "runtime_core.hpp"
#include "weft/core/crash_report.hpp"
#include "weft/core/log.hpp"
#include "weft/core/systemd_notify.hpp"

namespace weft::detail {
namespace {

// A service is crash-looping when it has failed this often within its
// restart intensity period and is not ready again: systemd's watchdog
// should then restart the process, so WATCHDOG=1 stops.
constexpr std::size_t kCrashLoopFailures = 3;

std::int64_t steady_ns() noexcept { return std::chrono::steady_clock::now().time_since_epoch().count(); }

std::string site_line(const LoopTurn& t) {
  if (t.site_what == nullptr) return {};
  return std::string(t.site_what) + " at " + (t.site_file ? t.site_file : "?") + ":" + std::to_string(t.site_line);
}

}  // namespace

// Messages for systemd, from the loop to the monitor thread. READY=1 and
// RELOADING=1 are kept in order (a reload is RELOADING then READY; at most
// kMaxOrdered pending, the oldest dropped); a newer STATUS replaces an
// unsent one (latest wins); STOPPING=1 goes last.
struct Health::Mailbox {
  static constexpr std::size_t kMaxOrdered = 16;
  std::mutex mutex;
  std::vector<std::string> ordered;
  bool stopping = false;
  std::string status;
  void push(std::string message) {
    if (ordered.size() >= kMaxOrdered) ordered.erase(ordered.begin());
    ordered.push_back(std::move(message));
  }
};

struct Health::Signals {
  explicit Signals(boost::asio::io_context& ioc) : usr1(ioc, SIGUSR1) {}
  boost::asio::signal_set usr1;
};

Health::Health(RuntimeCore& core) : core_(core), mailbox_(std::make_unique<Mailbox>()) {}

Health::~Health() { after_loop(); }

std::string Health::dumps_dir() const { return (std::filesystem::path(core_.options.data_dir) / "dumps").string(); }
std::string Health::crash_dir() const { return (std::filesystem::path(core_.options.data_dir) / "crash").string(); }

void Health::before_loop() {
  const RuntimeOptions& o = core_.options;
  if (!o.data_dir.empty()) {
    lock_.emplace(o.data_dir);  // throws DataDirBusyError naming the holder
    // A full data disk must not stop the box: what cannot be written is
    // logged once here, and tried again at the next start (the PID, a
    // crash report: its dump is kept, and the crash is logged from memory).
    if (!lock_->pid_error().empty()) core_.log->warn("data dir lock: {}", lock_->pid_error());
    try {
      for (const auto& report : crash::decode_pending(crash_dir())) core_.log->warn("{}", crash::describe(report));
    } catch (const std::exception& e) {
      core_.log->warn("crash reports in {}: cannot decode them: {}; tried again at the next start", crash_dir(),
                      e.what());
    }
    if (const std::string error = crash::install_crash_handlers(crash_dir()); !error.empty())
      core_.log->warn("crash handlers: {}; a crash in this run may leave no report", error);
  }
  beacon_.loop_tid.store(static_cast<int>(::syscall(SYS_gettid)), std::memory_order_relaxed);
  beacon_.turn(nullptr, steady_ns());
  set_thread_loop_beacon(&beacon_);
  loop_set_ = true;
  set_names();
  register_commands();
  if (o.handle_signals) listen_usr1();
  if (core_.vclock == nullptr) {
    refresh_hang_snapshot();  // a hang before the first tick still has one
    start_probe();
    start_monitor();
  }
}

void Health::after_loop() noexcept {
  if (monitor_) {
    monitor_->stop();
    final_counters_ = monitor_->counters();
    monitor_.reset();
    send_mail();  // STOPPING=1 and a last STATUS: the loop is done, so sending here blocks nothing
  }
  core_.timers.cancel(probe_);
  core_.timers.cancel(tick_);
  if (signals_) {
    boost::system::error_code ignored;
    signals_->usr1.cancel(ignored);
  }
  signals_.reset();
  commands_.clear();
  loop_set_ = false;
  crash::set_loop(nullptr, {});
  set_thread_loop_beacon(nullptr);
}

// ---- the probe and the health tick (loop thread) --------------------------

void Health::start_probe() {
  probe_period_ = std::clamp<Duration>(core_.options.stall_threshold / 2, std::chrono::milliseconds(1),
                                       std::chrono::milliseconds(100));
  probe_.health = this;
  probe_.on_due = [](TimerNode& n) { static_cast<HealthTimer&>(n).health->on_probe(); };
  core_.timers.schedule(probe_, core_.clock->now() + probe_period_, Duration::zero());
  tick_.health = this;
  tick_.on_due = [](TimerNode& n) { static_cast<HealthTimer&>(n).health->on_tick(); };
  core_.timers.schedule(tick_, core_.clock->now() + std::chrono::seconds(1), std::chrono::milliseconds(10));
}

// Zero slack: the probe is due exactly at its deadline, so now - deadline is
// how late the loop ran a timer. Drift-free; after a long stall it skips ahead.
void Health::on_probe() {
  const MonoTime now = core_.clock->now();
  lag_.record(probe_.deadline, now);
  beacon_.restart(now.time_since_epoch().count());
  MonoTime next = probe_.deadline + probe_period_;
  if (next <= now) next = now + probe_period_;
  core_.timers.schedule(probe_, next, Duration::zero());
}

void Health::set_names() {
  std::vector<std::pair<const ServiceStats*, std::string>> names;
  for (const auto& r : core_.records) names.emplace_back(&r->stats, r->spec.name);
  {
    std::lock_guard lock(names_mutex_);
    service_names_.swap(names);
    // The crash handler's table (count set to 0 while it is rewritten).
    if (loop_set_) crash::set_loop(&beacon_, service_names_);
  }
}

void Health::on_services_changed() {
  set_names();
  if (loop_set_ && core_.vclock == nullptr) refresh_hang_snapshot();
}

std::string Health::status_line(bool& looping) const {
  std::size_t ready = 0;
  std::uint64_t restarts = 0;
  looping = false;
  for (const auto& r : core_.records) {
    ready += r->ready ? 1 : 0;
    restarts += r->restarts;
    if (!r->ready && r->failures.size() >= kCrashLoopFailures) looping = true;
  }
  std::ostringstream status;
  status << ready << "/" << core_.records.size() << " services ready, " << restarts << " restarts, loop lag p99 "
         << human_duration(lag_.snapshot().recent.percentile(0.99));
  if (looping) status << ", a service is crash-looping";
  for (const auto& r : core_.records)
    if (!r->status_note.empty()) status << "; " << r->spec.name << ": " << r->status_note;
  if (!core_.reload_note.empty()) status << "; reload: " << core_.reload_note;
  if (!core_.update_note.empty()) status << "; update: " << core_.update_note;
  return status.str();
}

void Health::refresh_status() {
  bool looping = false;
  std::string status = status_line(looping);
  std::lock_guard lock(mailbox_->mutex);
  mailbox_->status = std::move(status);
}

// Once a second: STATUS=, the crash-loop verdict for the watchdog pings and
// the hang dump's snapshot.
void Health::on_tick() {
  bool looping = false;
  std::string status = status_line(looping);
  crash_looping_.store(looping, std::memory_order_relaxed);
  {
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->status = std::move(status);
  }
  refresh_hang_snapshot();
  core_.timers.schedule(tick_, tick_.deadline + std::chrono::seconds(1), std::chrono::milliseconds(10));
}

// READY=1 and RELOADING=1 wake the monitor thread, which sends them now,
// not at its next poll (up to 25 ms later: the most of a cold start's time
// to READY=1 before this). The wake is a mutex and a futex wake: it never
// waits for the monitor (the monitor holds that mutex only to check it).
void Health::on_all_ready() {
  {
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->push("READY=1");
  }
  if (monitor_) monitor_->wake();
}

void Health::on_reloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::uint64_t usec = static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
  {
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->push("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
  }
  if (monitor_) monitor_->wake();
}

void Health::on_reloaded() {
  {
    std::lock_guard lock(mailbox_->mutex);
    mailbox_->push("READY=1");
  }
  if (monitor_) monitor_->wake();
}

void Health::on_stopping() {
  std::lock_guard lock(mailbox_->mutex);
  mailbox_->stopping = true;
}

// What a hang dump shows: the loop's own dump input, taken on the loop.
void Health::refresh_hang_snapshot() { hang_snapshot_.publish(dump_input("hang")); }

const std::string* Health::name_of(const ServiceStats* stats) const noexcept {
  for (const auto& r : core_.records)  // loop thread: a reload resizes it on the loop too
    if (&r->stats == stats) return &r->spec.name;
  return nullptr;
}

// ---- the monitor thread ---------------------------------------------------

void Health::describe(const LoopTurn& turn, StallEvent& e) const {
  const std::string* name = nullptr;
  std::string found;
  {
    std::lock_guard lock(names_mutex_);
    for (const auto& [stats, n] : service_names_)
      if (stats == turn.service) {
        found = n;
        name = &found;
      }
  }
  e.culprit = name != nullptr    ? "service '" + *name + "'"
              : turn.service     ? "an unnamed service"
                                 : "runtime code (no service running)";
  if (turn.service != nullptr) e.last_site = site_line(turn);
}

void Health::start_monitor() {
  const RuntimeOptions& o = core_.options;
  StallMonitorOptions mo;
  mo.stall_threshold = o.stall_threshold;
  mo.hang_threshold = o.hang_threshold;
  mo.poll = std::clamp<Duration>(o.stall_threshold / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(25));
  if (auto timeout = systemd::watchdog_timeout()) {
    watchdog_ping_ = *timeout / 2;
    mo.poll = std::min<Duration>(mo.poll, *watchdog_ping_ / 4);
    next_ping_ = std::chrono::steady_clock::now();
  }
  StallMonitor::Hooks hooks;
  hooks.describe = [this](const LoopTurn& turn, StallEvent& e) { describe(turn, e); };
  hooks.on_stall = [this](const StallEvent& e) {
    core_.log->warn("loop stalled: {} has held the loop for {} without yielding (last await: {}); "
                    "every other service waits meanwhile",
                    e.culprit, human_duration(e.stalled_for), e.last_site.empty() ? "none yet" : e.last_site);
  };
  hooks.on_stall_end = [this](const StallEvent& e) {
    core_.log->warn("loop stall over: {} held the loop for at least {}", e.culprit, human_duration(e.stalled_for));
  };
  hooks.prepare_hang = [this](const StallEvent& e) { prepare_hang(e); };
  hooks.on_hang = [this](const StallEvent& e) { on_hang(e); };
  hooks.on_poll = [this](bool healthy) { on_poll(healthy); };
  monitor_ = std::make_unique<StallMonitor>(beacon_, mo, std::move(hooks));
  monitor_->start();
}

// Monitor thread, before the re-check: the loop's last snapshot (no loop
// state is read here: the loop may be about to run again).
void Health::prepare_hang(const StallEvent&) { hang_input_ = hang_snapshot_.take(); }

// Monitor thread, the hang confirmed (the same turn still running past the
// threshold). The dump is the snapshot's, formatted here; nothing the loop
// owns is read, so a loop that runs again meanwhile cannot break the dump.
void Health::on_hang(const StallEvent& e) {
  hung_.store(true);  // no WATCHDOG=1 from now on
  const int code = core_.options.hang_exit_code;
  core_.log->critical("loop hung: {} has held the loop for {} (hang threshold {}; last await: {}); writing a dump "
                      "and exiting with status {} so the process supervisor restarts the box",
                      e.culprit, human_duration(e.stalled_for), human_duration(core_.options.hang_threshold),
                      e.last_site.empty() ? "none yet" : e.last_site, code);
  systemd::notify("STATUS=loop hung: " + e.culprit + "; exiting");
  try {
    DumpInput in;
    const std::int64_t steady_now = steady_ns();
    if (hang_input_) {
      in = *hang_input_;
      in.note = "(the loop is hung: services, bus, loop lag and sections as the loop last saw them, " +
                human_duration(Duration(steady_now - in.now.time_since_epoch().count())) + " before this dump)";
    } else {
      in.note = "(the loop is hung and left no snapshot: no services, bus or sections in this dump)";
    }
    in.reason = "hang: " + e.culprit + " for " + human_duration(e.stalled_for);
    in.wall_ns = core_.clock->wall_ns();  // RealClock: a clock_gettime, no state
    in.stalls = monitor_->counters().stalls;
    const std::string text = format_dump(in);
    core_.log->critical("hang dump:\n{}", text);
    if (!core_.options.data_dir.empty()) {
      const std::string path = write_dump_file(dumps_dir(), text, in.wall_ns);
      core_.log->critical("hang dump written to {}", path);
    }
  } catch (const std::exception& ex) {
    core_.log->critical("hang dump failed: {}", ex.what());
  }
  logging::flush();
  std::_Exit(code);
}

void Health::on_poll(bool loop_healthy) {
  send_mail();
  if (!watchdog_ping_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_ping_) return;
  if (!loop_healthy || hung_.load() || crash_looping_.load(std::memory_order_relaxed)) return;  // retried next poll
  systemd::notify("WATCHDOG=1");
  next_ping_ = now + *watchdog_ping_;
}

void Health::send_mail() {
  std::string status;
  std::vector<std::string> ordered;
  bool stopping = false;
  {
    std::lock_guard lock(mailbox_->mutex);
    std::swap(status, mailbox_->status);
    ordered.swap(mailbox_->ordered);
    stopping = std::exchange(mailbox_->stopping, false);
  }
  for (const auto& message : ordered) systemd::notify(message);
  if (!status.empty()) systemd::notify("STATUS=" + status);
  if (stopping) systemd::notify("STOPPING=1");
}

StallCounters Health::stall_counters() const { return monitor_ ? monitor_->counters() : final_counters_; }

// ---- dumps ----------------------------------------------------------------

DumpInput Health::dump_input(const std::string& reason) const {
  DumpInput in;
  in.reason = reason;
  in.wall_ns = core_.clock->wall_ns();
  in.now = core_.clock->now();
  for (const auto& r : core_.records)
    in.services.push_back(ServiceSnapshot{r->spec.name, to_string(r->state), r->ready, r->restarts, r->last_error,
                                          r->state_since, r->stats});
  for (const auto* q : core_.bus.queues()) {
    const std::string* owner = name_of(q->owner);
    in.bus_queues.push_back(BusQueueInfo{owner ? *owner : "(runtime)", q->pattern, q->items.size(), q->capacity,
                                         q->dropped});
  }
  const BusStats bs = core_.bus.stats();
  in.bus_published = bs.published;
  in.bus_dropped = bs.dropped;
  in.loop_lag = loop_lag();
  in.stalls = stall_counters().stalls;
  in.sections = sections_.render();
  return in;
}

std::string Health::dump_text(const std::string& reason) const { return format_dump(dump_input(reason)); }

void Health::dump_on_signal() {
  std::string text = dump_text("SIGUSR1");
  core_.log->info("dump (SIGUSR1):\n{}", text);
  if (core_.options.data_dir.empty()) return;
  auto path = std::make_shared<std::string>();
  auto log = core_.log;
  core_.pool.async_run(
      [path, dir = dumps_dir(), text = std::move(text), wall = core_.clock->wall_ns()] {
        *path = write_dump_file(dir, text, wall);
      },
      core_.ioc.get_executor(),
      [log, path](std::exception_ptr error) {  // on the loop
        if (!error) return log->info("dump written to {}", *path);
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          log->error("dump (SIGUSR1) not written: {}", e.what());
        } catch (...) {
          log->error("dump (SIGUSR1) not written: unknown error");
        }
      });
}

void Health::listen_usr1() {
  if (!signals_) signals_ = std::make_unique<Signals>(core_.ioc);
  signals_->usr1.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    dump_on_signal();
    listen_usr1();
  });
}

}  // namespace weft::detail
