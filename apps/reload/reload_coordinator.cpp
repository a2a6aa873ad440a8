// The reload coordinator's queue and bookkeeping (reload_coordinator.hpp):
// triggers merged into the next transaction, one runner coroutine at a
// time (spawned when a trigger finds none, ending when the queue is
// empty, so an idle coordinator parks nothing), the outcome logged, put on
// STATUS= and handed to the observers and waiters, and assemblies no spec
// uses any more freed on the blocking pool. The transaction itself is
// reload_transaction.cpp.
#include "weft/apps/reload/reload_coordinator.hpp"

#include <algorithm>
#include <set>

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include "reload_impl.hpp"
#include "weft/apps/reload/reload_history.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {


std::string cut(const std::string& text, std::size_t max = 160) {
  const std::string line = text.substr(0, text.find('\n'));
  return line.size() <= max ? line : line.substr(0, max - 3) + "...";
}

std::string steps_text(const ReloadOutcome& o) {
  std::string out;
  for (const auto& s : o.services) out += (out.empty() ? "" : ", ") + s.action + " " + s.service + (s.ok ? "" : " (failed)");
  for (const auto& k : o.live) out += (out.empty() ? "" : ", ") + std::string("live ") + k;
  return out.empty() ? "nothing" : out;
}

}  // namespace

std::string config_hash(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

ReloadCoordinator::ReloadCoordinator(ReloadOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->options.mode.reload = this;
  impl_->wire_remote();
}

ReloadCoordinator::~ReloadCoordinator() = default;

void ReloadCoordinator::attach(Runtime& runtime, Config running, std::string running_text, Assembly assembly) {
  Impl& c = *impl_;
  c.runtime = &runtime;
  c.control = &runtime.control();
  c.settle = assembly.reload_settle;
  c.history_dir = assembly.options.data_dir;
  // Read only: the data-dir lock is not taken yet; damage is moved aside by the first append.
  if (!c.history_dir.empty()) c.next_id = load_reload_history(c.history_dir, HistoryDamage::leave).next_id;
  c.running = std::move(running);
  c.running_text = std::move(running_text);
  c.running_hash = config_hash(c.running_text);
  c.current = std::make_shared<Assembly>(std::move(assembly));
  c.owned.push_back(c.current);
  for (const std::string& name : c.control->service_names()) c.source[name] = c.current;
  runtime.set_reload_hook([this] { trigger(ReloadTrigger::signal); });
  c.follow_watch_config();  // [weftd] watch_config (config_watch.cpp): runs once the loop does
}

std::uint64_t ReloadCoordinator::trigger(ReloadTrigger t) {
  Impl& c = *impl_;
  if (c.control == nullptr) return 0;
  return c.enqueue(QueuedReload{.trigger = t, .id = 0, .text = std::nullopt, .source = {}});
}

void ReloadCoordinator::Impl::ensure_runner() {
  if (runner_active || control->stopping()) return;
  runner_active = true;
  // Owned by the coordinator (runner_active); it ends when the queue is
  // empty or the runtime stops. A frame left at teardown is destroyed by
  // the runtime's io_context, before the coordinator (declared first).
  boost::asio::co_spawn(control->executor(), run_queue(), [this](std::exception_ptr error) {
    if (!error) return;
    runner_active = false;
    running_id = 0;          // its waiters must not wait for a transaction that will never end
    control->notify_change();
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      control->logger("weft")->critical("reload: the coordinator failed: {}", e.what());
    } catch (...) {
      control->logger("weft")->critical("reload: the coordinator failed (unknown exception)");
    }
  });
}

boost::asio::awaitable<void> ReloadCoordinator::Impl::run_queue() {
  while (!queue.empty()) {
    QueuedReload request = std::move(queue.front());
    queue.pop_front();
    const ReloadTrigger t = request.trigger;
    const std::uint64_t id = request.id;
    running_id = id;
    ReloadOutcome out;
    if (control->stopping()) {
      out.id = id;
      out.trigger = t;
      out.file = request.text ? request.source : options.file.string();
      remote_request_hash = request.text ? config_hash(*request.text) : std::string();  // its result names it, not the last one
      remote_request_bytes = request.text ? request.text->size() : 0;
      out.result = ReloadResult::refused;
      out.errors.push_back("weftd is stopping: the reload was not started");
      finish(out, control->clock().now());
    } else {
      out = co_await transaction(std::move(request));
    }
    co_await record_history(out);
    recent.push_back(out);
    if (recent.size() > kRecentReloadOutcomes) recent.pop_front();
    running_id = 0;
    control->notify_change();  // wakes the waiters of reload() and outcome()
    co_await release_unused();
  }
  runner_active = false;  // here, not in the completion handler: a trigger from now on spawns a new runner
}

void ReloadCoordinator::Impl::finish(ReloadOutcome& out, MonoTime started_at) {
  RuntimeControl& rc = *control;
  out.took_us = std::chrono::duration_cast<std::chrono::microseconds>(rc.clock().now() - started_at).count();
  out.config_hash = running_hash;
  spdlog::logger& log = *rc.logger("weft");
  const std::string head = "reload " + std::to_string(out.id) + " (" + std::string(to_string(out.trigger)) + ", " +
                           out.file + "): " + std::string(to_string(out.result));
  const double ms = static_cast<double>(out.took_us) / 1000.0;
  for (const auto& w : out.warnings) log.warn("reload {}: {}", out.id, w);
  switch (out.result) {
    case ReloadResult::applied:
      log.info("{} in {:.1f} ms: {}; running config {}", head, ms, steps_text(out), out.config_hash);
      break;
    case ReloadResult::unchanged:
      log.info("{} in {:.1f} ms: the file has the running config's effect; running config {}", head, ms, out.config_hash);
      break;
    default: {
      std::string errors;
      for (const auto& e : out.errors) errors += (errors.empty() ? "" : "; ") + e;
      log.error("{} in {:.1f} ms: {}; steps: {}; still running config {} (the file on disk differs; `config diff` "
                "shows how)",
                head, ms, errors, steps_text(out), out.config_hash);
    }
  }
  // A remote config that did not apply leaves the file as it was: it says
  // nothing about whether the file differs from what runs.
  const bool remote_kept_file = out.trigger == ReloadTrigger::remote && out.result != ReloadResult::applied &&
                                out.result != ReloadResult::unchanged;
  const bool was_differing = file_differs;
  switch (out.result) {
    case ReloadResult::applied:
    case ReloadResult::unchanged:
      file_differs = false;
      rc.set_reload_note("");
      follow_watch_config();  // switched on or off; or opened again after it ended on an error
      break;
    case ReloadResult::refused:
      file_differs = true;
      rc.set_reload_note("last reload refused (" + cut(out.errors.empty() ? "" : out.errors.front()) +
                         "); the config file differs from the running config");
      break;
    case ReloadResult::rolled_back:
      file_differs = true;
      rc.set_reload_note("last reload rolled back (" + cut(out.errors.empty() ? "" : out.errors.front()) +
                         "); the config file differs from the running config");
      break;
    case ReloadResult::interrupted:  // never an outcome of a run (history only): as a failure
    case ReloadResult::rollback_failed:
      file_differs = true;
      rc.set_reload_note("last reload failed and its rollback too (" + cut(out.errors.empty() ? "" : out.errors.back()) +
                         "); the config file differs from the running config");
      break;
  }
  if (remote_kept_file) {
    file_differs = was_differing;
    rc.set_reload_note("last remote config " + std::string(to_string(out.result)) + " (" +
                       cut(out.errors.empty() ? "" : out.errors.front()) + "); the config file is unchanged");
  }
  last = out;
  for (const auto& observer : observers) {
    try {
      observer(out);
    } catch (const std::exception& e) {
      log.error("reload: an outcome observer failed: {}", e.what());
    }
  }
  if (!rc.stopping()) rc.notify_reloaded();  // READY=1 after STOPPING=1 would tell systemd the box is up again
}

// The outcome into the data dir's config history, before any waiter hears
// of it (so `config history` right after `weftctl reload` shows it). A
// failed write is logged; the transaction itself stands.
boost::asio::awaitable<void> ReloadCoordinator::Impl::record_history(const ReloadOutcome& out) {
  if (history_dir.empty() || control->stopping()) co_return;  // the pool may be gone by the time it would run
  const std::string dir = history_dir;
  ReloadHistoryWrite written;
  auto work = [&written, &dir, &out] { written = append_reload_history(dir, out); };
  co_await control->blocking(work);
  spdlog::logger& log = *control->logger("weft");
  if (!written.warning.empty()) log.warn("reload history: {}", written.warning);
  if (!written.ok()) log.error("reload history: reload {} was not recorded: {}", out.id, written.error);
}

boost::asio::awaitable<void> ReloadCoordinator::Impl::release_unused() {
  // Only the coordinator's lists hold an Assembly nobody uses: current,
  // source and pinned are the users.
  std::set<Assembly*> used{current.get()};
  for (const auto& [name, a] : source) used.insert(a.get());
  for (const auto& a : pinned) used.insert(a.get());
  std::vector<std::shared_ptr<Assembly>> unused;
  for (auto& a : owned)
    if (!used.contains(a.get())) unused.push_back(a);
  if (unused.empty()) co_return;
  std::erase_if(owned, [&](const auto& a) { return !used.contains(a.get()); });
  if (control->stopping()) {
    pinned.insert(pinned.end(), unused.begin(), unused.end());  // freed with the coordinator, after the runtime
    co_return;
  }
  auto work = [&unused] { unused.clear(); };  // ~Store joins its threads: not on the loop
  co_await control->blocking(work);
}

boost::asio::awaitable<ReloadOutcome> ReloadCoordinator::reload(ReloadTrigger t) {
  Impl& c = *impl_;
  if (c.control == nullptr) throw std::logic_error("ReloadCoordinator::reload before attach()");
  const std::uint64_t id = trigger(t);
  std::optional<ReloadOutcome> o = co_await outcome(id);
  if (o) co_return std::move(*o);
  if (c.last && c.last->id >= id) co_return *c.last;  // too old to be kept: the latest says more anyway
  ReloadOutcome out;  // stopping, or the coordinator failed: the queued transaction never ended
  out.id = id;
  out.trigger = t;
  out.file = c.options.file.string();
  out.config_hash = c.running_hash;
  out.errors.push_back(c.control->stopping()
                           ? "weftd is stopping: the reload was not started"
                           : "the reload coordinator failed (its error is in the log); whether services changed is "
                             "shown by `services`");
  co_return out;
}

boost::asio::awaitable<std::optional<ReloadOutcome>> ReloadCoordinator::outcome(std::uint64_t id) {
  Impl& c = *impl_;
  if (c.control == nullptr) co_return std::nullopt;
  for (;;) {
    for (const auto& o : c.recent)
      if (o.id == id) co_return o;
    if (!c.is_pending(id)) co_return std::nullopt;
    if (c.control->stopping() && !c.runner_active) co_return std::nullopt;
    co_await c.control->wait_change(c.control->clock().now() + std::chrono::hours(1));
  }
}

bool ReloadCoordinator::Impl::is_pending(std::uint64_t id) const noexcept {
  if (id == 0) return false;
  if (running_id == id) return true;
  return std::any_of(queue.begin(), queue.end(), [id](const QueuedReload& q) { return q.id == id; });
}

bool ReloadCoordinator::pending(std::uint64_t id) const noexcept {
  const Impl& c = *impl_;
  return c.is_pending(id);
}

void ReloadCoordinator::add_observer(Observer observer) { impl_->observers.push_back(std::move(observer)); }
void ReloadCoordinator::set_next_id(std::uint64_t id) { impl_->next_id = id; }
bool ReloadCoordinator::attached() const noexcept { return impl_->control != nullptr; }
bool ReloadCoordinator::busy() const noexcept { return impl_->runner_active || !impl_->queue.empty(); }
RemoteConfigLink& ReloadCoordinator::remote() noexcept { return impl_->remote; }
const Config& ReloadCoordinator::running_config() const { return *impl_->running; }
const std::string& ReloadCoordinator::running_text() const { return impl_->running_text; }
const std::string& ReloadCoordinator::running_hash() const { return impl_->running_hash; }
const std::optional<ReloadOutcome>& ReloadCoordinator::last_outcome() const noexcept { return impl_->last; }
bool ReloadCoordinator::file_differs() const noexcept { return impl_->file_differs; }
Duration ReloadCoordinator::settle() const noexcept { return impl_->settle; }
const std::filesystem::path& ReloadCoordinator::file() const noexcept { return impl_->options.file; }

}  // namespace weft::apps
