// The supervisor: starts services in dependency order, restarts failed ones
// with exponential backoff and jitter, escalates past the restart
// intensity, and stops everything in reverse start order.
//
// One service's states (the function making each transition in brackets):
//
//              needs ready [try_start]             ctx.ready() [on_ready]
//   waiting ─────────────────────────► starting ─────────────────► running
//      ▲                                 │   │ start timeout:         │
//      │ backoff over [on_timer]         │   │ cancel [on_timer]      │
//      │                                 │   ▼                        │
//   backoff ◄────────────────────────────┴─ restarting ◄──────────────┘
//              exit or exception [on_exit → record_failure]
//              (past the restart intensity: failed, and the process exits)
//
//   starting/running/restarting ──stop──► stopping ──exit or grace──► stopped
//   waiting/backoff ──stop──► stopped;   stopped ──start──► waiting
//
// Rules: (1) a service is launched only when every need is ready;
// (2) at most one run of a service is alive (a new run only after the
// previous one's exit, or its abandonment after the stop grace);
// (3) an exit from an older run (generation) is ignored;
// (4) stopping one service never stops another.
//
// A live reload changes the table (change_table) only where it names
// services that are stopped: a stopped service's spec and table replaced
// (same record: restart counter, generation and stats go on), services
// added (stopped, until started) and removed (the record retired, never
// destroyed: an abandoned run may still use it). The graph checks of the
// first start (unknown needs, cycles) run on the table as it would be,
// and reject it before anything changes. Every state change wakes the
// RuntimeControl::wait_change waiters (posted, never inline).
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include "runtime_core.hpp"
#include "weft/core/log.hpp"
#include "weft/core/memory_account.hpp"
#include "weft/core/service_executor.hpp"

namespace weft::detail {
namespace {

std::string describe(std::exception_ptr error) {
  if (!error) return "returned early (run() must not return until the service is stopped)";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

bool is_cancellation(std::exception_ptr error) {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const boost::system::system_error& e) {
    return e.code() == boost::asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

std::string millis(Duration d) {
  std::ostringstream out;
  out << std::chrono::duration_cast<std::chrono::milliseconds>(d).count() << " ms";
  return out.str();
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

}  // namespace

const char* to_string(ServiceState s) noexcept {
  switch (s) {
    case ServiceState::waiting: return "waiting";
    case ServiceState::starting: return "starting";
    case ServiceState::running: return "running";
    case ServiceState::restarting: return "restarting";
    case ServiceState::backoff: return "backoff";
    case ServiceState::stopping: return "stopping";
    case ServiceState::stopped: return "stopped";
    case ServiceState::failed: return "failed";
  }
  return "?";
}

namespace {

// The table's names in dependency order (each after what it needs; ties
// keep `table`'s order). Throws ServiceGraphError for an unknown need or a
// cycle, for validate_and_order and check_change alike.
std::vector<std::string> dependency_order(const std::vector<std::pair<std::string, const std::vector<std::string>*>>& table) {
  std::map<std::string, const std::vector<std::string>*> needs;
  std::vector<std::string> names;
  for (const auto& [name, n] : table) {
    needs.emplace(name, n);
    names.push_back(name);
  }
  for (const auto& [name, n] : table)
    for (const auto& need : *n)
      if (!needs.contains(need))
        throw ServiceGraphError("service '" + name + "' needs '" + need +
                                "', which is not configured (configured services: " + join(names) +
                                "); add it or remove it from the needs");
  enum Mark { unvisited, active, done };
  std::map<std::string, Mark> mark;
  std::vector<std::string> path, ordered;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (mark[name] == done) return;
    if (mark[name] == active) {
      auto from = std::find(path.begin(), path.end(), name);
      std::string cycle;
      for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
      throw ServiceGraphError("dependency cycle between services: " + cycle + name +
                              "; break it by removing one of these needs");
    }
    mark[name] = active;
    path.push_back(name);
    for (const auto& need : *needs.at(name)) visit(need);
    path.pop_back();
    mark[name] = done;
    ordered.push_back(name);
  };
  for (const auto& n : names) visit(n);
  return ordered;
}

}  // namespace

void Supervisor::validate_and_order() {
  auto& records = core_.records;
  std::set<std::string> seen;
  std::vector<std::pair<std::string, const std::vector<std::string>*>> table;
  for (auto& r : records) {
    if (!seen.insert(r->spec.name).second)
      throw ServiceGraphError("service '" + r->spec.name + "' is configured twice; service names must be unique");
    table.emplace_back(r->spec.name, &r->spec.needs);
  }
  // Records move only once the whole table is accepted: a rejected table stays intact.
  const std::vector<std::string> order = dependency_order(table);
  std::map<std::string, std::unique_ptr<ServiceRecord>*> slot;
  for (auto& r : records) slot[r->spec.name] = &r;
  std::vector<std::unique_ptr<ServiceRecord>> sorted;
  for (const auto& name : order) sorted.push_back(std::move(*slot.at(name)));
  records = std::move(sorted);
}

void Supervisor::init_timer(ServiceRecord& r) {
  r.timer.supervisor = this;
  r.timer.record = &r;
  r.timer.on_due = [](TimerNode& n) {
    auto& t = static_cast<OwnedTimer&>(n);
    t.supervisor->on_timer(*t.record);
  };
}

void Supervisor::link_needs() {
  for (auto& r : core_.records) {
    r->dependents.clear();
    r->need_records.clear();
  }
  for (auto& r : core_.records)
    for (const auto& need : r->spec.needs) {
      ServiceRecord* needed = core_.find(need);  // exists: validate_and_order / check_change checked
      needed->dependents.push_back(r.get());
      r->need_records.push_back(needed);
    }
}

void Supervisor::start() {
  for (auto& r : core_.records) {
    init_timer(*r);
    set_state(*r, ServiceState::waiting);
  }
  link_needs();
  for (auto& r : core_.records) try_start(*r);
}


void Supervisor::check_change(const ServiceTableChange& c, bool require_stopped) const {
  if (shutting_down_) throw ServiceGraphError("the runtime is stopping: the service table cannot change now");
  std::vector<std::pair<std::string, const std::vector<std::string>*>> table;
  for (const auto& r : core_.records) table.emplace_back(r->spec.name, &r->spec.needs);
  auto slot = [&](const std::string& name) {
    return std::find_if(table.begin(), table.end(), [&](const auto& e) { return e.first == name; });
  };
  std::set<std::string> named;
  auto once = [&](const std::string& name) {
    if (name.empty()) throw ServiceGraphError("a service without a name cannot be added");
    if (!named.insert(name).second)
      throw ServiceGraphError("service '" + name + "' is named twice in one change of the service table");
  };
  auto must_be_stopped = [&](const std::string& name, const char* what) {
    const ServiceRecord* r = const_cast<RuntimeCore&>(core_).find(name);
    if (r == nullptr) throw ServiceGraphError("cannot " + std::string(what) + " service '" + name + "': no such service");
    if (require_stopped && r->state != ServiceState::stopped && r->state != ServiceState::failed)
      throw ServiceGraphError("cannot " + std::string(what) + " service '" + name + "' while it is " +
                              to_string(r->state) + "; stop it first");
  };
  for (const auto& name : c.remove) {
    once(name);
    must_be_stopped(name, "remove");
    table.erase(slot(name));
  }
  for (const auto& d : c.replace) {
    once(d.spec.name);
    must_be_stopped(d.spec.name, "replace");
    slot(d.spec.name)->second = &d.spec.needs;
  }
  for (const auto& d : c.add) {
    once(d.spec.name);
    if (slot(d.spec.name) != table.end())
      throw ServiceGraphError("cannot add service '" + d.spec.name + "': a service of that name exists");
    if (!d.spec.launch) throw ServiceGraphError("cannot add service '" + d.spec.name + "': its spec has no launcher");
    table.emplace_back(d.spec.name, &d.spec.needs);
  }
  for (const auto& d : c.replace)
    if (!d.spec.launch) throw ServiceGraphError("cannot replace service '" + d.spec.name + "': its spec has no launcher");
  dependency_order(table);
}

void Supervisor::change_table(ServiceTableChange c) {
  check_change(c, true);
  auto& records = core_.records;
  for (const auto& name : c.remove) {
    auto it = std::find_if(records.begin(), records.end(), [&](const auto& r) { return r->spec.name == name; });
    ServiceRecord& r = **it;
    core_.timers.cancel(r.timer);
    set_ready(r, false);
    std::erase(launch_order_, &r);
    r.logger->info("removed from the service table");
    core_.retired.push_back(std::move(*it));
    records.erase(it);
  }
  for (auto& d : c.replace) {
    ServiceRecord& r = *core_.find(d.spec.name);
    if (!r.abandoned_runs.empty()) r.retired_specs.push_back(std::move(r.spec));
    r.spec = std::move(d.spec);
    r.config = std::move(d.config);
    r.failures.clear();
    r.start_timed_out = false;
  }
  for (auto& d : c.add) {
    auto record = std::make_unique<ServiceRecord>();
    record->spec = std::move(d.spec);
    record->config = std::move(d.config);
    record->logger = logging::make_logger(record->spec.name);
    record->ctx = std::make_unique<Context>(core_, *record);
    init_timer(*record);
    set_state(*record, ServiceState::stopped);
    records.push_back(std::move(record));
  }
  // The table in dependency order again (records only move, none is rebuilt).
  std::vector<std::pair<std::string, const std::vector<std::string>*>> table;
  for (const auto& r : records) table.emplace_back(r->spec.name, &r->spec.needs);
  const std::vector<std::string> order = dependency_order(table);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < order.size(); ++i) index[order[i]] = i;
  std::stable_sort(records.begin(), records.end(),
                   [&](const auto& a, const auto& b) { return index[a->spec.name] < index[b->spec.name]; });
  std::stable_sort(launch_order_.begin(), launch_order_.end(), [&](const ServiceRecord* a, const ServiceRecord* b) {
    return index[a->spec.name] < index[b->spec.name];
  });
  link_needs();
  core_.health.on_services_changed();
  change_waiters_.wake_all();
}

bool Supervisor::needs_ready(const ServiceRecord& r) const {
  return std::all_of(r.need_records.begin(), r.need_records.end(), [](const ServiceRecord* n) { return n->ready; });
}

void Supervisor::try_start(ServiceRecord& r) {
  if (!shutting_down_ && r.state == ServiceState::waiting && needs_ready(r)) launch(r);
}

// Keeps ready_count_ exact, so "all ready" is O(1), not a scan per ready().
void Supervisor::set_ready(ServiceRecord& r, bool ready) {
  if (r.ready == ready) return;
  r.ready = ready;
  if (ready) ++ready_count_;
  else --ready_count_;
}

void Supervisor::set_state(ServiceRecord& r, ServiceState s) {
  r.state = s;
  r.state_since = core_.clock->now();
  change_waiters_.wake_all();
}

bool ChangeWaiters::cancel(ChangeWaiter& w) noexcept {
  auto it = std::find(waiters_.begin(), waiters_.end(), &w);
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  return true;
}

void ChangeWaiters::wake_all() {
  if (waiters_.empty()) return;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto* w : waiters) w->on_due(*w);  // posted: never resumes inside the supervisor
}

void ChangeWaiters::abandon_all() noexcept {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto* w : waiters) w->on_abandon(*w);
}

void Supervisor::arm(ServiceRecord& r, MonoTime deadline) {
  core_.timers.cancel(r.timer);
  core_.timers.schedule(r.timer, deadline, Duration::zero());
}

void Supervisor::launch(ServiceRecord& r) {
  // The runtime's work, whoever's slice it is called in (a service starting
  // another through RuntimeControl, as the console does): not charged to
  // that service, never refused half way by its memory_limit (the record
  // was left "waiting", which no start_service() takes again).
  SliceScope runtime_work(nullptr);
  const bool first_launch = !r.ever_launched;
  if (!r.ever_launched) launch_order_.push_back(&r);
  r.ever_launched = true;
  set_ready(r, false);
  r.start_timed_out = false;
  r.stats.slice_budget_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(r.spec.slice_budget).count();
  if (!memory_accounting_enabled()) {
    if (r.spec.memory_limit > 0 && first_launch)
      r.logger->warn("memory_limit of {} bytes not enforced: under valgrind, which replaces malloc and "
                     "operator delete, no block can carry its owner (alloc_accounting.cpp); run without valgrind "
                     "to enforce it",
                     r.spec.memory_limit);
  } else {
    if (r.stats.memory == nullptr) r.stats.memory = memory_account_for(r.spec.name);
    if (r.stats.memory != nullptr) r.stats.memory->limit = static_cast<std::int64_t>(r.spec.memory_limit);
    else if (r.spec.memory_limit > 0)
      r.logger->warn("memory_limit not enforced: {} service names already have a memory account this process",
                     kMaxMemoryAccounts);
  }
  const std::uint64_t generation = ++r.generation;
  r.cancel = std::make_unique<boost::asio::cancellation_signal>();
  r.ctx = std::make_unique<Context>(core_, r, generation);  // per run: an abandoned run keeps its own
  set_state(r, ServiceState::starting);
  arm(r, core_.clock->now() + r.spec.policy.start_timeout);
  r.logger->debug("starting (run {})", generation);

  ServiceExecutor executor(core_.ioc.get_executor(), &r.stats);
  auto on_exit = [this, &r, generation](std::exception_ptr error) { this->on_exit(r, generation, error); };
  try {
    SliceScope slice(&r.stats);  // the launcher's own work is the service's
    r.spec.launch(Launch{*r.ctx, boost::asio::any_io_executor(executor), r.cancel->slot(), on_exit});
  } catch (...) {
    on_exit(std::current_exception());
  }
}

void Supervisor::on_ready(ServiceRecord& r, std::uint64_t generation) {
  if (generation != r.generation || r.state != ServiceState::starting) return;  // twice, stale, or stopping  // twice, or after a stop began: nothing to do
  // Called inside the service's slice (ctx.ready()); what follows is the
  // runtime's (its dependents' launch, READY=1), so charged to no service
  // and never refused by a memory_limit the service is at: a refusal part
  // way would leave it marked ready with its dependents unstarted or
  // READY=1 never sent (all_ready_logged_ already set), for good.
  SliceScope runtime_work(nullptr);
  core_.timers.cancel(r.timer);
  set_ready(r, true);
  set_state(r, ServiceState::running);
  r.logger->info("ready");
  for (ServiceRecord* d : r.dependents) try_start(*d);  // only they can have become startable
  if (ready_count_ == core_.records.size() && !all_ready_logged_) {
    all_ready_logged_ = true;
    core_.log->info("all {} services ready", core_.records.size());
    core_.health.on_all_ready();  // READY=1
  }
}

void Supervisor::on_exit(ServiceRecord& r, std::uint64_t generation, std::exception_ptr error) {
  if (generation != r.generation) return;
  // Called inside the service's last slice; the bookkeeping below is the
  // runtime's, so its allocations are charged to no service and never
  // refused by a memory_limit the service may still be at.
  SliceScope runtime_work(nullptr);
  report_memory_refusal(r);  // before "failed: std::bad_alloc", which it explains
  core_.timers.cancel(r.timer);
  set_ready(r, false);
  switch (r.state) {
    case ServiceState::stopping:
      set_state(r, ServiceState::stopped);
      if (error && !is_cancellation(error)) r.logger->warn("stopped with an error: {}", describe(error));
      else r.logger->info("stopped");
      if (shutting_down_) stop_next();
      return;
    case ServiceState::starting:
    case ServiceState::running:
    case ServiceState::restarting: {
      const std::string reason =
          r.start_timed_out ? "not ready within its start timeout of " + millis(r.spec.policy.start_timeout)
                            : describe(error);
      record_failure(r, reason);
      return;
    }
    default:
      return;  // already stopped or failed
  }
}

void Supervisor::record_failure(ServiceRecord& r, const std::string& reason) {
  r.last_error = reason;
  const MonoTime now = core_.clock->now();
  r.failures.push_back(now);
  std::erase_if(r.failures, [&](MonoTime t) { return now - t > r.spec.policy.intensity_period; });
  if (shutting_down_) {
    r.logger->error("failed during shutdown: {}", reason);
    set_state(r, ServiceState::stopped);
    stop_next();
    return;
  }
  if (static_cast<int>(r.failures.size()) > r.spec.policy.intensity) {
    r.logger->critical("failed: {}; {} failures within {} exceed its restart intensity of {}: "
                       "exiting so the process supervisor restarts the box",
                       reason, r.failures.size(), millis(r.spec.policy.intensity_period), r.spec.policy.intensity);
    set_state(r, ServiceState::failed);
    core_.exit_code = kExitEscalated;
    begin_shutdown();
    return;
  }
  const Duration delay = backoff_for(r);
  r.logger->error("failed: {}; restarting in {}", reason, millis(delay));
  set_state(r, ServiceState::backoff);
  arm(r, now + delay);
}

// Exponential in the failures inside the intensity window (so it decays by
// itself), capped, with "equal jitter": half fixed, half random.
Duration Supervisor::backoff_for(const ServiceRecord& r) {
  const auto& p = r.spec.policy;
  Duration d = p.min_backoff;
  for (std::size_t i = 1; i < r.failures.size() && d < p.max_backoff; ++i) d *= 2;
  d = std::min(d, p.max_backoff);
  const auto half = d.count() / 2;
  std::uniform_int_distribution<std::int64_t> jitter(0, half);
  return Duration(d.count() - half + jitter(core_.rng));
}

void Supervisor::on_timer(ServiceRecord& r) {
  switch (r.state) {
    case ServiceState::starting:
      r.logger->error("not ready within its start timeout of {}; cancelling it",
                      millis(r.spec.policy.start_timeout));
      r.start_timed_out = true;
      set_state(r, ServiceState::restarting);
      arm(r, core_.clock->now() + core_.options.stop_grace);  // it must exit within the grace
      r.cancel->emit(boost::asio::cancellation_type::terminal);
      return;
    case ServiceState::restarting:
      r.logger->error("ignored its cancellation for the stop grace; abandoning that run");
      abandon_run(r);
      record_failure(r, "not ready within its start timeout of " + millis(r.spec.policy.start_timeout) +
                            ", and ignored its cancellation");
      return;
    case ServiceState::backoff:
      ++r.restarts;
      set_state(r, ServiceState::waiting);
      try_start(r);
      return;
    case ServiceState::stopping:
      r.logger->warn("did not stop within the stop grace; abandoning it");
      abandon_run(r);
      set_state(r, ServiceState::stopped);
      if (shutting_down_) stop_next();
      return;
    default:
      return;
  }
}

// The run lives on, unsupervised: keep what it still uses (its cancellation
// signal and its Context) for the runtime's life, and forget its exit.
void Supervisor::abandon_run(ServiceRecord& r) {
  r.abandoned_runs.push_back({std::move(r.cancel), std::move(r.ctx)});
  ++r.generation;  // its exit or ready() now belongs to no run
}

bool Supervisor::stop_service(ServiceRecord& r) {
  switch (r.state) {
    case ServiceState::starting:
    case ServiceState::running:
    case ServiceState::restarting:
      set_state(r, ServiceState::stopping);
      set_ready(r, false);
      arm(r, core_.clock->now() + core_.options.stop_grace);
      r.cancel->emit(boost::asio::cancellation_type::terminal);
      return true;
    case ServiceState::waiting:
    case ServiceState::backoff:
      core_.timers.cancel(r.timer);
      set_state(r, ServiceState::stopped);
      return true;
    default:
      return false;
  }
}

bool Supervisor::start_service(ServiceRecord& r) {
  if (shutting_down_ || (r.state != ServiceState::stopped && r.state != ServiceState::failed)) return false;
  r.failures.clear();
  set_state(r, ServiceState::waiting);
  try_start(r);
  return true;
}

void Supervisor::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  core_.health.on_stopping();  // STOPPING=1
  shutdown_deadline_ = core_.clock->now() + core_.options.stop_grace;
  stop_queue_.assign(launch_order_.begin(), launch_order_.end());  // popped from the back: reverse order
  for (auto& r : core_.records)
    if (!r->ever_launched) {
      core_.timers.cancel(r->timer);
      set_state(*r, ServiceState::stopped);
    }
  stop_next();
}

void Supervisor::stop_next() {
  while (!stop_queue_.empty()) {
    ServiceRecord& r = *stop_queue_.back();
    switch (r.state) {
      case ServiceState::starting:
      case ServiceState::running:
      case ServiceState::restarting:
        set_state(r, ServiceState::stopping);
        set_ready(r, false);
        arm(r, shutdown_deadline_);
        r.cancel->emit(boost::asio::cancellation_type::terminal);
        return;  // on_exit or on_timer calls us again
      case ServiceState::stopping:
        arm(r, std::min(shutdown_deadline_, r.timer.queued() ? r.timer.deadline : shutdown_deadline_));
        return;
      default:
        core_.timers.cancel(r.timer);
        if (r.state != ServiceState::failed) set_state(r, ServiceState::stopped);
        stop_queue_.pop_back();
    }
  }
  core_.finish();
}

}  // namespace weft::detail
