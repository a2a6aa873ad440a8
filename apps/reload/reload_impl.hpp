// Internal: the reload coordinator's state (reload_coordinator.hpp), shared
// by the queue (reload_coordinator.cpp) and the transaction
// (reload_transaction.cpp). Loop thread only, except what prepare() reads,
// which is copied for it.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "weft/apps/assembly/reload_plan.hpp"
#include "weft/apps/reload/reload_coordinator.hpp"
#include "weft/apps/reload/remote_config.hpp"

namespace weft {
class RuntimeControl;
}

namespace weft::apps {

// What the blocking pool hands back for one transaction.
struct PreparedReload {
  std::string text;                   // the file's bytes
  std::optional<Config> config;       // parsed (a document of its own)
  std::vector<std::string> errors;    // invalid or refused: every error, file:line:col
  bool invalid = false;               // errors are parse/validation errors (not refusals)
  ReloadPlan plan;
  bool store_changed = false;         // a [store] key differs: record and upload get a new store
  // ... on the running store's file (record_reload.hpp, StoreSwap): the
  // running Store is closed before the new one opens, and `rollback` is the
  // running config assembled again on a Store of its own (not opened), whose
  // record and upload specs a rollback uses once the running Store is gone.
  bool store_reopened = false;
  std::shared_ptr<Assembly> rollback;  // also in Impl::owned while the transaction runs
  std::unique_ptr<Assembly> assembly;  // the new specs (with weftd's RunMode); null if refused/unchanged
};

// Reads, validates, plans and assembles (blocking: pool only).
PreparedReload prepare_reload(const std::filesystem::path& file, const std::string& running_text, const RunMode& mode,
                              store::Store* running_store);
// The same for a text received otherwise (remote config): `source` names it in errors.
PreparedReload prepare_reload_text(std::string text, const std::string& source, const std::string& running_text,
                                   const RunMode& mode, store::Store* running_store);

// One queued transaction: a file trigger reads the file when it starts; a
// remote one carries its text (remote_config.cpp).
struct QueuedReload {
  ReloadTrigger trigger = ReloadTrigger::console;
  std::uint64_t id = 0;             // given by enqueue
  std::optional<std::string> text;  // remote: the config/set payload
  std::string source;               // remote: the topic it came on
};

// What the confirmation step (remote_config.cpp) found.
struct Confirmation {
  bool stopping = false;  // the runtime began stopping while waiting
  std::string failure;    // empty: confirmed (or not needed)
};

// Log levels (reload_log_levels.cpp; loop thread; not with --log-level):
// the plan's live log_level keys applied from the new config `root`, and
// the levels of services about to (re)start.
void apply_live_log_levels(RuntimeControl& rc, const ConfigSection& root, const std::vector<KeyChange>& live);
void apply_service_log_levels(RuntimeControl& rc, const ConfigSection& root, const std::vector<std::string>& names);

// Live settings (reload_live_settings.cpp; loop thread; no await): the
// plan's live_services handed `next_root` through their running specs'
// take_live, each a "live" step in `out` (and their keys in out.live). The
// transaction's last step, after everything else succeeded. A refusal
// hands those already done `running_root` again and names the service.
struct LiveFailure {
  std::string service;
  std::string error;  // empty: every one took its settings
  bool failed() const noexcept { return !error.empty(); }
};
LiveFailure apply_live_settings(RuntimeControl& rc, const ReloadPlan& plan, const ConfigSection& next_root,
                                const ConfigSection& running_root, ReloadOutcome& out);

// The config-file watch's bookkeeping (config_watch.cpp). At most one run
// is current: start and stop bump `epoch`, and a run whose epoch is not
// the current one ends at its next wake-up (stop also wakes it).
struct ConfigWatchState {
  std::uint64_t epoch = 0;  // bumped by every start and stop
  bool watching = false;    // the current epoch's run is alive (opening or watching)
  std::size_t runs = 0;     // runs not yet ended, current or not (their owner's count)
};

// Outcomes kept in memory for their waiters (outcome(id)).
inline constexpr std::size_t kRecentReloadOutcomes = 16;

struct ReloadCoordinator::Impl {
  explicit Impl(ReloadOptions o) : options(std::move(o)) {}

  ReloadOptions options;
  std::string history_dir;  // the running [weftd] data_dir (set by attach); empty: no config history
  Runtime* runtime = nullptr;
  RuntimeControl* control = nullptr;

  // The running config.
  std::optional<Config> running;
  std::string running_text;
  std::string running_hash;
  Duration settle = std::chrono::seconds(5);
  // Assemblies: the one the running services' specs come from, per
  // service (shared: one Assembly serves many services), the current one
  // (whose store is handed on), and those kept for abandoned runs.
  std::shared_ptr<Assembly> current;
  std::map<std::string, std::shared_ptr<Assembly>> source;  // service -> the Assembly its spec came from
  std::vector<std::shared_ptr<Assembly>> pinned;            // an abandoned run may use them: kept to the end
  std::vector<std::shared_ptr<Assembly>> owned;             // every Assembly alive (release_unused frees the unused)

  // The queue: a transaction gets its id when it is queued (so a trigger
  // learns it at once: weftctl asks for that id's outcome again after a
  // dropped connection). A file trigger joins the file transaction queued
  // (if any), a remote one replaces the remote text queued (if any), else
  // each is queued behind: at most one of each, in arrival order
  // (remote_config.cpp: enqueue). Outcomes of the last few are kept for
  // their waiters, by id.
  bool runner_active = false;
  std::deque<QueuedReload> queue;
  std::uint64_t running_id = 0;  // the transaction running now (0: none)
  std::deque<ReloadOutcome> recent;
  std::uint64_t next_id = 1;
  std::optional<ReloadOutcome> last;
  bool file_differs = false;
  std::vector<Observer> observers;
  ConfigWatchState watch;

  // Remote config (remote_config.cpp): the link upload publishes through,
  // and what the running transaction was asked remotely.
  RemoteConfigLink remote;
  std::string remote_request_hash;      // of the running remote transaction's text
  std::size_t remote_request_bytes = 0;
  std::uint64_t remote_confirmed_id = 0;  // its outcome was published by the confirmation itself

  // Returns the id the transaction will get (reload() and outcome() wait for it).
  std::uint64_t enqueue(QueuedReload request);
  bool is_pending(std::uint64_t id) const noexcept;  // queued or running
  void wire_remote();  // the link's callbacks and the outcome observer (constructor)
  // Before a transaction touching upload (or remote) is kept: its
  // provisional outcome published by upload within remote_settle.
  bool needs_confirmation(const ReloadOutcome& out, const ReloadPlan& plan) const;
  boost::asio::awaitable<Confirmation> confirm(const ReloadOutcome& out, const std::string& new_text);
  // A remote text that applied, into the config file (atomic, blocking pool);
  // "" or why it was not written.
  boost::asio::awaitable<std::string> persist_remote(const std::string& text, const std::string& previous_text);
  // The refusal of a remote config that would leave the box out of reach (upload
  // stopped, or accept_config off in `next_root`); "" if fine.
  std::string remote_refusal(const ReloadPlan& plan, const ConfigSection& next_root) const;

  void ensure_runner();
  boost::asio::awaitable<void> run_queue();
  boost::asio::awaitable<ReloadOutcome> transaction(QueuedReload request);
  void finish(ReloadOutcome& out, MonoTime started_at);
  // Frees assemblies no spec uses any more (on the blocking pool: a
  // Store's destructor joins its threads).
  boost::asio::awaitable<void> record_history(const ReloadOutcome& out);
  boost::asio::awaitable<void> release_unused();

  // The watch of the config file (config_watch.cpp): started or stopped
  // to match the running config's [weftd] watch_config, at attach and
  // after every applied or unchanged reload (so a watch that ended on an
  // error is opened again by the next good reload).
  void follow_watch_config();
  void start_watch();
  void stop_watch();
  boost::asio::awaitable<void> watch_file(std::uint64_t epoch);
  boost::asio::awaitable<void> until_watch_ends(std::uint64_t epoch);
};

}  // namespace weft::apps
