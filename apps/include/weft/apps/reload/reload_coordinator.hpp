// The reload coordinator: weftd's one owner of live reload. Every trigger
// (SIGHUP through Runtime::set_reload_hook, the console's `reload`, the
// config-file watch it runs itself while the running config says
// [weftd] watch_config = true (config_watch.cpp), and, wired by weftd,
// remote config) asks it for a transaction; it runs them one at a time on
// the loop:
//
//   1. the file is read, parsed and assembled on the blocking pool (never
//      the loop), validated exactly as `weftd --check-config`, and planned
//      against the running config (reload_plan.hpp). Invalid or refused:
//      nothing changes.
//   2. live keys apply ([weftd] log_level, reload_settle, a service's own
//      log_level; watch_config once the outcome is known).
//   3. in plan order: the services to stop or restart are stopped
//      (dependents first), the table changes at once (RuntimeControl::
//      change_services: replaced specs, added and removed services; the
//      graph is checked before anything is stopped), then each restarted
//      or started service is started (what is needed first) and must be
//      ready within its start timeout, then all of them must stay up for
//      [weftd] reload_settle.
//   3b. last, once all of that succeeded (and a remote change was
//      confirmed): services that take their changed keys while running
//      (the plan's live_services: ca's access rules) get the new config
//      through their running spec's take_live, no restart
//      (reload_live_settings.cpp). A rollback therefore never has them to
//      undo: the previous settings held throughout.
//   4. any failure rolls the whole transaction back: every touched service
//      is stopped, gets its previous spec and table (removed ones are added
//      again, started ones removed), and the previous services are started
//      again. One that does not become ready again is left to normal
//      supervision (ReloadResult::rollback_failed).
//   5. services the plan does not name are never touched.
//
// Triggers arriving while a transaction runs are merged: they all share
// the ONE next transaction, which reads the file when it starts (so it
// sees the latest file; two queued runs would read the same file anyway).
// Each trigger's waiter gets that transaction's outcome. A transaction's
// id is given when it is queued, so a trigger knows it at once and can
// ask for that outcome later (outcome(id): the console's `reload status`).
// A remote config
// (remote_config.hpp) carries its text: it is queued beside that file
// transaction, in arrival order, never merged with it (remote_config.cpp).
// A remote change, or one that changes [service.upload] itself, is kept only once upload
// has published its outcome within [service.upload] remote_settle; an
// applied remote text is then written to the file (atomic replace).
//
// Lifetimes: the coordinator owns the Assembly the runtime was built from
// and every later one. An Assembly (its store::Store) is freed, on the
// blocking pool, only when no service uses its specs: after a [store]
// change record and upload restart on the new store; an unchanged [store]
// is handed on (two Store objects never write one file). An Assembly whose
// specs an abandoned run may still use is kept until the coordinator
// dies. The coordinator must outlive the Runtime (weftd declares it
// first): coroutine frames the runtime destroys at teardown refer to it.
//
// Seeing it: one log line per transaction and one per service touched;
// systemd gets RELOADING=1 (with MONOTONIC_USEC=) when a transaction
// starts and READY=1 when it ends; a refused, rolled-back or failed reload
// leaves a note on STATUS= and `services` (the file on disk then differs
// from what runs) until the next good one; observers (add_observer) get
// every outcome on the loop (the config history, remote config results).
// Loop thread only, except the constructor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/assembly/catalog.hpp"
#include "weft/apps/reload/reload_outcome.hpp"
#include "weft/core/config.hpp"

namespace weft {
class Runtime;
}

namespace weft::apps {

class RemoteConfigLink;  // remote_config.hpp

struct ReloadOptions {
  std::filesystem::path file;  // the config file weftd runs
  RunMode mode;                // weftd's own: new specs are assembled with it
  bool log_level_fixed = false;  // --log-level given: a reload does not change the level
};

class ReloadCoordinator {
public:
  using Observer = std::function<void(const ReloadOutcome&)>;

  // Before assemble(): weftd puts `this` into the RunMode it assembles with
  // (RunMode::reload), so the console can reach it.
  explicit ReloadCoordinator(ReloadOptions options);
  ~ReloadCoordinator();
  ReloadCoordinator(const ReloadCoordinator&) = delete;
  ReloadCoordinator& operator=(const ReloadCoordinator&) = delete;

  // Before Runtime::run(), after add_services(runtime, assembly): the
  // running config, its file's bytes (for the hash) and the assembly
  // (owned from now on: its store is in use). Sets the runtime's SIGHUP hook.
  // With a [weftd] data_dir, ids continue its config history (read here,
  // before the loop runs; reload_history.hpp) and every outcome is
  // appended to it on the blocking pool before any waiter hears of it.
  void attach(Runtime& runtime, Config running, std::string running_text, Assembly assembly);

  // Loop thread. Queues a transaction (merged with one already queued)
  // and returns at once with its id (given when it is queued: every
  // trigger merged into it gets the same id); the outcome goes to the
  // observers. 0 before attach().
  std::uint64_t trigger(ReloadTrigger trigger);
  // Loop thread. The same, then waits for that transaction's outcome.
  // Cancel-safe: cancelling the wait leaves the transaction running.
  boost::asio::awaitable<ReloadOutcome> reload(ReloadTrigger trigger);
  // Loop thread. The outcome of transaction `id`: at once if it is among
  // the last 16 kept in memory, after it ends if it is queued or running;
  // nullopt if neither (unknown here, too old, or cut short by a stop).
  // Cancel-safe: cancelling the wait leaves the transaction running.
  boost::asio::awaitable<std::optional<ReloadOutcome>> outcome(std::uint64_t id);
  // Transaction `id` is queued or running.
  bool pending(std::uint64_t id) const noexcept;

  // Called on the loop with every outcome, after it is logged.
  void add_observer(Observer observer);
  // The id the next transaction gets (the config history continues its count).
  void set_next_id(std::uint64_t id);

  // Remote config over MQTT (remote_config.hpp): upload's end of it.
  // Usable before attach() (upload is assembled first); submissions before
  // attach are refused.
  RemoteConfigLink& remote() noexcept;

  bool attached() const noexcept;
  bool busy() const noexcept;  // a transaction runs or is queued
  const Config& running_config() const;        // what `config` and `config diff` show; attached only
  const std::string& running_text() const;     // the running file's bytes, as read when it was applied
  const std::string& running_hash() const;     // FNV-1a 64 of the running file's bytes, 16 hex digits
  const std::optional<ReloadOutcome>& last_outcome() const noexcept;
  // The last transaction was refused or rolled back: the file on disk is
  // not what runs (until the next applied or unchanged one).
  bool file_differs() const noexcept;
  Duration settle() const noexcept;  // [weftd] reload_settle in effect
  const std::filesystem::path& file() const noexcept;  // the config file weftd runs (ReloadOptions::file)

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// A config file's bytes; ConfigError ("<path>: cannot read config file: ...") if unreadable. Blocking.
std::string read_config_text(const std::filesystem::path& file);

// FNV-1a 64 of `bytes` as 16 lowercase hex digits (ReloadOutcome::config_hash).
std::string config_hash(std::string_view bytes);

}  // namespace weft::apps
