// One reload transaction (reload_coordinator.hpp, steps 1-5): prepared on
// the blocking pool, applied on the loop in plan order, health-gated
// (ready within the start timeout, then up for reload_settle), rolled back
// as a whole on any failure. A runtime stop arriving at any await ends the
// transaction where it is: nothing more is started or stopped by it (the
// shutdown stops everything), and every Assembly a spec in the table may
// use is kept (the coordinator outlives the runtime).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>
#include <set>

#include <spdlog/spdlog.h>

#include "record_reload.hpp"
#include "reload_impl.hpp"
#include "weft/apps/reload/reload_history.hpp"
#include "weft/apps/assembly/store_config.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {

std::string read_config_text(const std::filesystem::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr)
    throw ConfigError(file.string() + ": cannot read config file: " + std::error_code(errno, std::generic_category()).message() +
                      ". Check the path and its permissions.");
  std::string text;
  char buffer[8192];
  while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, f)) text.append(buffer, n);
  const bool failed = std::ferror(f) != 0;
  const int error = errno;
  std::fclose(f);
  if (failed)
    throw ConfigError(file.string() + ": cannot read config file: " + std::error_code(error, std::generic_category()).message() +
                      ". Check the path and its permissions.");
  return text;
}

namespace {

bool is_store_key(const std::string& key) { return key == "store" || key.starts_with("store.") || key.starts_with("store["); }

std::string millis_text(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

std::string changes_text(const std::vector<KeyChange>& changes) {
  std::string out;
  for (std::size_t i = 0; i < changes.size() && i < 4; ++i) {
    const auto& c = changes[i];
    out += (i ? ", " : "") + c.key;
  }
  if (changes.size() > 4) out += ", ... (" + std::to_string(changes.size()) + " keys)";
  return out;
}

}  // namespace

PreparedReload prepare_reload(const std::filesystem::path& file, const std::string& running_text, const RunMode& mode,
                              store::Store* running_store) {
  std::string text;
  try {
    text = read_config_text(file);
  } catch (const ConfigError& e) {
    PreparedReload out;
    out.invalid = true;
    out.errors.push_back(e.what());
    return out;
  }
  return prepare_reload_text(std::move(text), file.string(), running_text, mode, running_store);
}

PreparedReload prepare_reload_text(std::string text, const std::string& source, const std::string& running_text,
                                   const RunMode& mode, store::Store* running_store) {
  PreparedReload out;
  out.text = std::move(text);
  try {
    Config next_doc = Config::parse(out.text, source);
    // Validated exactly as --check-config validates (check_config), each
    // side on a document of its own: the running one the loop reads is
    // never touched from this thread.
    const CheckedConfig next = check_config(next_doc);
    const CheckedConfig was = check_config(Config::parse(running_text, source));
    out.plan = plan_reload(was, next);
    if (out.plan.is_refused()) {
      for (const auto& r : out.plan.refused) out.errors.push_back(refusal_message(r));
      return out;
    }
    for (const auto& change : diff_configs(was, next))
      if (is_store_key(change.key)) out.store_changed = true;
    if (!out.plan.services.empty())
      out.assembly = std::make_unique<Assembly>(
          assemble(next_doc, mode, out.store_changed ? nullptr : running_store));
    prepare_store_reopen(out, running_text, source, mode, running_store);
    out.config = std::move(next_doc);
  } catch (const ConfigError& e) {
    out.invalid = true;
    out.errors.push_back(e.what());
  } catch (const std::exception& e) {  // e.g. a StoreError from a [store] the reader let through
    out.invalid = true;
    out.errors.push_back(source + ": " + e.what());
  }
  return out;
}

namespace {

struct Stopping {};  // the runtime began stopping: the transaction ends where it is

// Waits until `name` is stopped (or failed, or gone), at most `deadline`.
boost::asio::awaitable<bool> wait_stopped(RuntimeControl& rc, const std::string& name, MonoTime deadline) {
  for (;;) {
    const auto info = rc.service(name);
    if (!info || info->snapshot.state == "stopped" || info->snapshot.state == "failed") co_return true;
    if (!co_await rc.wait_change(deadline)) co_return false;
  }
}

class Apply {
public:
  Apply(ReloadCoordinator::Impl& c, PreparedReload& p, ReloadOutcome& out)
      : c_(c), rc_(*c.control), p_(p), out_(out), log_(*rc_.logger("weft")) {}

  // Steps 3-5. Returns when applied, rolled back or (throws Stopping) when the runtime stops.
  boost::asio::awaitable<void> run() {
    const std::vector<std::string> running_order = rc_.service_names();
    auto position = [&](const std::string& name) {
      return std::find(running_order.begin(), running_order.end(), name) - running_order.begin();
    };
    for (const PlanEntry& e : p_.plan.services) {
      if (e.action != PlanAction::start) {
        auto def = rc_.definition(e.service);
        if (def) previous_.emplace(e.service, std::move(*def));
        to_stop_.push_back(e.service);
      }
      if (e.action != PlanAction::stop) to_start_.push_back(e.service);
    }
    std::sort(to_stop_.begin(), to_stop_.end(), [&](const auto& a, const auto& b) { return position(a) > position(b); });
    swap_.emplace(c_, p_, new_assembly_);
    ServiceTableChange change = build_change();
    try {
      rc_.check_change(change);
    } catch (const ServiceGraphError& e) {
      // Nothing has changed yet: refused, not rolled back.
      out_.result = ReloadResult::refused;
      out_.errors.push_back(p_.config->source_name() + ": " + e.what());
      co_return;
    }

    std::string failed_service, failure;
    // Stop what stops or restarts, dependents first.
    for (const std::string& name : to_stop_) {
      const PlanEntry& e = entry(name);
      service_log(name).info("reload: {} ({}){}", e.action == PlanAction::stop ? "stopping" : "restarting", e.reason,
                             e.changes.empty() ? "" : ": " + changes_text(e.changes));
      co_await stop_one(name);
      if (e.action == PlanAction::stop) out_.services.push_back({name, "stop", true, {}});
    }
    // The table, in one step (checked above; the services it names are stopped now).
    pin_abandoned(to_stop_);
    try {
      rc_.change_services(std::move(change));
      changed_ = true;
      for (const auto& e : p_.plan.services) {
        if (e.action == PlanAction::stop) c_.source.erase(e.service);
        else c_.source[e.service] = new_assembly_;
      }
    } catch (const ServiceGraphError& e) {
      failed_service = "(service table)";
      failure = e.what();
    }
    if (changed_ && !c_.options.log_level_fixed) apply_service_log_levels(rc_, p_.config->root(), to_start_);
    // [store] changed on the running store's file: closed before record opens the new one.
    if (failure.empty()) {
      failure = co_await swap_->close_running();
      if (rc_.stopping()) throw Stopping{};
      if (!failure.empty()) failed_service = "record";
    }
    // Start what starts or restarts, needs first; each must become ready.
    std::map<std::string, std::uint64_t> generation;
    if (failure.empty())
      for (const std::string& name : to_start_) {
        const PlanEntry& e = entry(name);
        if (e.action == PlanAction::start)
          service_log(name).info("reload: starting ({}){}", e.reason, e.changes.empty() ? "" : ": " + changes_text(e.changes));
        const MonoTime start_at = rc_.clock().now();
        const std::string error = co_await start_one(name);
        out_.services.push_back({name, std::string(to_string(e.action)), error.empty(), error, micros_since(start_at)});
        if (!error.empty()) {
          failed_service = name;
          failure = error;
          break;
        }
        generation[name] = rc_.service(name)->generation;
      }
    // Settle: every started service stays up for reload_settle.
    if (failure.empty() && !to_start_.empty()) {
      const MonoTime until = rc_.clock().now() + c_.settle;
      for (;;) {
        for (const std::string& name : to_start_) {
          const auto info = rc_.service(name);
          if (info && info->snapshot.state == "running" && info->snapshot.ready && info->generation == generation[name])
            continue;
          failed_service = name;
          failure = info && !info->snapshot.last_error.empty() ? info->snapshot.last_error
                                                                : "did not stay up (" + (info ? info->snapshot.state : "gone") + ")";
          failure += " within the reload settle time of " + millis_text(c_.settle);
          break;
        }
        if (!failure.empty() || rc_.clock().now() >= until) break;
        co_await rc_.wait_change(until);
        if (rc_.stopping()) throw Stopping{};
      }
      if (!failure.empty())
        for (auto& step : out_.services)
          if (step.service == failed_service) {
            step.ok = false;
            step.error = failure;
          }
    }
    // Reachability (remote_config.cpp): a remote change, or one that
    // changes [service.upload] itself, is kept only once upload published its outcome.
    if (failure.empty() && c_.needs_confirmation(out_, p_.plan)) {
      const Confirmation confirmed = co_await c_.confirm(out_, p_.text);
      if (confirmed.stopping) throw Stopping{};
      if (!confirmed.failure.empty()) {
        failed_service = "upload";
        failure = confirmed.failure;
        for (auto& step : out_.services)
          if (step.service == failed_service) {
            step.ok = false;
            step.error = failure;
          }
      }
    }
    // Last, once all else succeeded: settings the running services take
    // live (reload_live_settings.cpp), so a rollback never has them to undo.
    if (failure.empty()) {
      const LiveFailure live = apply_live_settings(rc_, p_.plan, p_.config->root(), c_.running->root(), out_);
      failed_service = live.service;
      failure = live.error;
    }
    if (failure.empty()) {
      out_.result = ReloadResult::applied;
      co_return;
    }
    co_await roll_back(failed_service, failure);
  }

  bool changed() const noexcept { return changed_; }
  std::shared_ptr<Assembly> new_assembly_;

private:
  const PlanEntry& entry(const std::string& name) const {
    return *std::find_if(p_.plan.services.begin(), p_.plan.services.end(), [&](const PlanEntry& e) { return e.service == name; });
  }

  std::int64_t micros_since(MonoTime t) const {
    return std::chrono::duration_cast<std::chrono::microseconds>(rc_.clock().now() - t).count();
  }

  spdlog::logger& service_log(const std::string& name) {
    spdlog::logger* l = rc_.logger(name);
    return l != nullptr ? *l : log_;
  }

  ServiceTableChange build_change() {
    ServiceTableChange change;
    for (const PlanEntry& e : p_.plan.services) {
      if (e.action == PlanAction::stop) {
        change.remove.push_back(e.service);
        continue;
      }
      auto it = std::find_if(new_assembly_->services.begin(), new_assembly_->services.end(),
                             [&](const ConfiguredService& s) { return s.spec.name == e.service; });
      ServiceDefinition def{std::move(it->spec), it->section};
      (e.action == PlanAction::start ? change.add : change.replace).push_back(std::move(def));
    }
    return change;
  }

  void pin_abandoned(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
      const auto info = rc_.service(name);
      auto src = c_.source.find(name);
      if (info && info->abandoned_runs > 0 && src != c_.source.end()) c_.pinned.push_back(src->second);
    }
  }

  boost::asio::awaitable<void> stop_one(const std::string& name) {
    rc_.stop_service(name);
    const MonoTime deadline = rc_.clock().now() + rc_.stop_grace() + std::chrono::seconds(1);
    const bool stopped = co_await wait_stopped(rc_, name, deadline);
    if (rc_.stopping()) throw Stopping{};
    if (!stopped) service_log(name).warn("reload: not stopped within {}", millis_text(rc_.stop_grace()));
  }

  // "" when ready; else why not.
  boost::asio::awaitable<std::string> start_one(const std::string& name) {
    if (!rc_.start_service(name)) {
      if (rc_.stopping()) throw Stopping{};
      co_return "could not be started (" + (rc_.service(name) ? rc_.service(name)->snapshot.state : "gone") + ")";
    }
    const auto info = rc_.service(name);
    // The supervisor's own start timeout fires first and fails the run
    // (its words); the grace covers the cancelled run's exit.
    const Duration timeout = info->policy.start_timeout;
    const MonoTime deadline = rc_.clock().now() + timeout + rc_.stop_grace() + std::chrono::seconds(1);
    const ServiceWaitResult r = co_await rc_.wait_service(name, deadline);
    if (rc_.stopping()) throw Stopping{};
    switch (r.event) {
      case ServiceEvent::ready: co_return std::string();
      case ServiceEvent::failed: co_return r.error.empty() ? std::string("failed") : r.error;
      case ServiceEvent::timeout: co_return "not ready within its start timeout of " + millis_text(timeout);
      case ServiceEvent::stopped: co_return std::string("stopped while starting");
      case ServiceEvent::unknown: co_return std::string("gone from the service table");
    }
    co_return std::string("?");
  }

  boost::asio::awaitable<void> roll_back(const std::string& failed_service, const std::string& failure) {
    out_.errors.push_back(failed_service + ": " + failure + "; the reload was rolled back");
    log_.error("reload: {} failed: {}; rolling back every service the reload touched", failed_service, failure);
    // Stop everything the transaction started (dependents first).
    std::vector<std::string> started_now = to_start_;
    std::reverse(started_now.begin(), started_now.end());
    for (const std::string& name : started_now) {
      const auto info = rc_.service(name);
      if (!info || info->snapshot.state == "stopped" || info->snapshot.state == "failed") continue;
      co_await stop_one(name);
    }
    bool rollback_failed = false;
    // The new store closed and record's and upload's previous specs on a store with the previous settings.
    co_await swap_->before_rollback(previous_, out_.errors);
    if (rc_.stopping()) throw Stopping{};
    if (changed_) {
      pin_abandoned(to_start_);
      ServiceTableChange back;
      for (const PlanEntry& e : p_.plan.services) {
        if (e.action == PlanAction::start) back.remove.push_back(e.service);
        else if (auto it = previous_.find(e.service); it != previous_.end())
          (e.action == PlanAction::stop ? back.add : back.replace).push_back(it->second);
      }
      try {
        rc_.change_services(std::move(back));
        if (!c_.options.log_level_fixed) apply_service_log_levels(rc_, c_.running->root(), to_stop_);
        for (const PlanEntry& e : p_.plan.services) {
          if (e.action == PlanAction::start) c_.source.erase(e.service);
          else c_.source[e.service] = previous_source_.contains(e.service) ? previous_source_[e.service] : c_.current;
        }
      } catch (const ServiceGraphError& e) {
        rollback_failed = true;
        out_.errors.push_back("rollback: the previous service table could not be restored: " + std::string(e.what()));
        log_.critical("reload: rollback failed: the previous service table could not be restored: {}", e.what());
      }
    }
    // The previous services again, needs first (what ran before, in its order).
    if (!rollback_failed) {
      const std::vector<std::string> order = rc_.service_names();
      for (const std::string& name : order) {
        if (!previous_.contains(name)) continue;
        const MonoTime start_at = rc_.clock().now();
        const std::string error = co_await start_one(name);
        out_.services.push_back({name, "rollback", error.empty(), error, micros_since(start_at)});
        if (error.empty()) {
          service_log(name).info("reload: rolled back: runs its previous config again");
          continue;
        }
        rollback_failed = true;
        out_.errors.push_back(name + ": rollback failed: " + error + "; left to its normal supervision");
        service_log(name).critical("reload: rollback failed: {}; left to its normal supervision (restarts with backoff)",
                                   error);
      }
    }
    out_.result = rollback_failed ? ReloadResult::rollback_failed : ReloadResult::rolled_back;
  }

public:
  void remember_sources() {
    for (const auto& [name, def] : previous_) {
      auto it = c_.source.find(name);
      previous_source_[name] = it != c_.source.end() ? it->second : c_.current;
    }
  }

private:
  ReloadCoordinator::Impl& c_;
  RuntimeControl& rc_;
  PreparedReload& p_;
  ReloadOutcome& out_;
  spdlog::logger& log_;
  std::map<std::string, ServiceDefinition> previous_;  // stopped or restarted: their definitions before
  std::map<std::string, std::shared_ptr<Assembly>> previous_source_;
  std::vector<std::string> to_stop_;   // dependents first
  std::vector<std::string> to_start_;  // needs first (plan order)
  bool changed_ = false;
  std::optional<StoreSwap> swap_;  // a [store] change on the running store's file (record_reload.hpp)
};

// Logs what reserving `id` in the history said. The id was given when the
// transaction was queued (its waiters know it); a history ahead of it
// (written by something else) only moves the later ids past the file's:
// returns the lowest next id the file allows.
std::uint64_t after_reservation(spdlog::logger& log, const std::string& dir, const ReloadHistoryWrite& reserved,
                                std::uint64_t id) {
  if (dir.empty()) return 0;
  if (!reserved.warning.empty()) log.warn("reload history: {}", reserved.warning);
  if (!reserved.ok()) {
    log.error("reload history: no id could be reserved for reload {}: {}", id, reserved.error);
    return 0;
  }
  if (reserved.id <= id) return 0;
  log.warn("reload history: {} is ahead of this weftd (next id {}); reload {} keeps its id, later ones follow the file",
           reload_history_path(dir), reserved.id, id);
  return reserved.id + 1;
}

}  // namespace

// g++ 12 reports -Wmismatched-new-delete for this coroutine's frame once it
// has the remote config's await (persist_remote): a false positive (Asio's
// awaitable frames pair their own operator new and delete; see the
// top-level CMakeLists.txt), silenced for this function only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
boost::asio::awaitable<ReloadOutcome> ReloadCoordinator::Impl::transaction(QueuedReload request) {
  RuntimeControl& rc = *control;
  const MonoTime started_at = rc.clock().now();
  ReloadOutcome out;
  out.id = request.id;
  out.trigger = request.trigger;
  out.file = request.text ? request.source : options.file.string();
  remote_request_hash = request.text ? config_hash(*request.text) : std::string();
  remote_request_bytes = request.text ? request.text->size() : 0;
  out.started_unix_ms = rc.clock().wall_ns() / 1'000'000;
  rc.notify_reloading();

  PreparedReload p;
  {
    const std::filesystem::path file = options.file;
    const std::string text = running_text;
    const RunMode mode = options.mode;
    store::Store* store = current ? current->store.get() : nullptr;
    // The id is reserved durably first: a transaction a stop or a crash cuts
    // short is never recorded, but the next weftd does not give its id again.
    const std::string dir = history_dir;
    ReloadHistoryWrite reserved;
    const std::uint64_t id = out.id;
    // Its line in the history from now on, replaced by the outcome at the
    // end: still "interrupted" afterwards when weftd stopped or died first.
    ReloadOutcome started = out;
    started.result = ReloadResult::interrupted;
    started.config_hash = running_hash;
    started.errors.push_back("weftd stopped (or died) before this reload ended; it left no outcome. The next start ran "
                             "the config file as it was then: check `config diff` and `services`");
    auto work = [&p, &file, &text, &mode, store, &dir, &reserved, &request, id, &started] {
      if (!dir.empty()) reserved = reserve_reload_id(dir, id, &started);
      p = request.text ? prepare_reload_text(std::move(*request.text), request.source, text, mode, store)
                       : prepare_reload(file, text, mode, store);
    };
    co_await rc.blocking(work);
    next_id = std::max(next_id, after_reservation(*rc.logger("weft"), dir, reserved, out.id));
  }
  // Its Store (not opened) is freed by release_unused on the pool; a rollback may take it first.
  if (p.rollback) owned.push_back(p.rollback);
  if (rc.stopping()) {
    out.result = ReloadResult::refused;
    out.errors.push_back("weftd began stopping: the reload was abandoned before it changed anything");
    if (p.assembly) pinned.push_back(std::shared_ptr<Assembly>(std::move(p.assembly)));  // freed with the coordinator
    finish(out, started_at);
    co_return out;
  }
  if (p.errors.empty() && out.trigger == ReloadTrigger::remote)
    if (std::string why = remote_refusal(p.plan, p.config->root()); !why.empty()) p.errors.push_back(std::move(why));
  if (!p.errors.empty()) {
    out.result = ReloadResult::refused;
    out.errors = std::move(p.errors);
    // Planned, then refused (remote_refusal): release_unused frees it off the loop (~Store joins threads).
    if (p.assembly) owned.push_back(std::shared_ptr<Assembly>(std::move(p.assembly)));
    finish(out, started_at);
    co_return out;
  }

  // Live keys (watch_config: follow_watch_config, once the outcome is known).
  if (!options.log_level_fixed) apply_live_log_levels(rc, p.config->root(), p.plan.live);
  for (const KeyChange& change : p.plan.live) {
    out.live.push_back(change.key);
    if (change.key == "weftd.reload_settle") {
      Assembly scratch;
      read_weftd_section(p.config->root(), scratch);
      settle = scratch.reload_settle;
    }
  }

  if (p.plan.services.empty()) {
    const LiveFailure live = apply_live_settings(rc, p.plan, p.config->root(), running->root(), out);
    if (live.failed()) {
      out.result = ReloadResult::rolled_back;
      out.errors.push_back(live.service + ": " + live.error + "; the reload was rolled back");
      if (!options.log_level_fixed) apply_live_log_levels(rc, running->root(), p.plan.live);
    } else {
      out.result = p.plan.live.empty() && p.plan.live_services.empty() ? ReloadResult::unchanged : ReloadResult::applied;
    }
  } else {
    out.warnings = co_await store_move_warnings(*this, p.plan);
    std::shared_ptr<Assembly> fresh(std::move(p.assembly));
    owned.push_back(fresh);
    Apply apply(*this, p, out);
    apply.new_assembly_ = fresh;
    apply.remember_sources();
    bool stopped = false;
    try {
      co_await apply.run();
    } catch (const Stopping&) {
      stopped = true;
    }
    if (stopped) {
      out.result = apply.changed() ? ReloadResult::rollback_failed : ReloadResult::refused;
      out.errors.push_back("weftd began stopping during the reload: it ended there; the services it touched stop "
                           "with the rest");
      pinned.push_back(fresh);  // a spec in the table may come from it
      finish(out, started_at);
      co_return out;
    }
    if (out.result != ReloadResult::applied && !options.log_level_fixed)
      apply_live_log_levels(rc, running->root(), p.plan.live);  // rolled back: the levels go back too
    std::unique_ptr<store::Store> previous_store;
    if (out.result == ReloadResult::applied) {
      // The running store goes on in the new assembly (its services got it).
      if (!p.store_changed && current && current->store) fresh->store = std::move(current->store);
      // A [store] moved to another file: the previous Store's only users
      // (store_users(): record, upload, ca) run on the new one now; it is
      // closed below (else the untouched services' specs, which keep the
      // old Assembly, would keep it and its file open for good). Not while
      // a run of one was abandoned past its stop grace: it may still use it.
      if (p.store_changed && current && current->store) {
        std::string abandoned;
        for (const std::string& user : store_users())
          if (const auto info = rc.service(user); info && info->abandoned_runs > 0) abandoned = user;
        if (abandoned.empty())
          previous_store = std::move(current->store);
        else
          rc.logger("weft")->warn("reload {}: the previous store {} stays open: a run of {} was abandoned past its stop "
                                  "grace and may still use it (`systemctl restart weftd` closes it)",
                                  out.id, current->store->options().path, abandoned);
      }
      current = fresh;
      release_record_intake(*this, p.plan);
    } else if (apply.changed()) {
      // A rolled-back spec came from `fresh`; a run of it may have been abandoned.
      for (const auto& e : p.plan.services) {
        const auto info = rc.service(e.service);
        if (info && info->abandoned_runs > 0) pinned.push_back(fresh);
      }
    }
    if (previous_store && rc.stopping()) {  // the pool may be gone: freed with the coordinator, after the runtime
      auto holder = std::make_shared<Assembly>();
      holder->store = std::move(previous_store);
      pinned.push_back(std::move(holder));
    }
    if (previous_store) {
      // ~Store commits, releases its path claim and joins its threads: on the pool.
      const std::string old_path = previous_store->options().path;
      auto work = [&previous_store] { previous_store.reset(); };
      co_await rc.blocking(work);
      rc.logger("weft")->info("reload {}: closed the previous store {} (record and upload run on the new one)", out.id,
                              old_path);
    }
  }
  std::string not_written;
  if (out.result == ReloadResult::applied && out.trigger == ReloadTrigger::remote) {
    not_written = co_await persist_remote(p.text, running_text);  // running_text: still the previous one
    if (!not_written.empty()) out.errors.push_back(not_written);
  }
  if (out.result == ReloadResult::applied || out.result == ReloadResult::unchanged) {
    running = std::move(p.config);
    running_text = std::move(p.text);
    running_hash = config_hash(running_text);
    Assembly scratch;
    read_weftd_section(running->root(), scratch);
    settle = scratch.reload_settle;
  }
  finish(out, started_at);
  if (!not_written.empty()) {
    file_differs = true;  // what runs is not in the file: a restart would run the old one
    rc.set_reload_note("last remote config applied but not written to the config file (" + not_written + ")");
  }
  co_return out;
}

#pragma GCC diagnostic pop

}  // namespace weft::apps
