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

// Log levels (reload_log_levels.cpp; loop thread; not with --log-level):
// the plan's live log_level keys applied from the new config `root`, and
// the levels of services about to (re)start.
void apply_live_log_levels(RuntimeControl& rc, const ConfigSection& root, const std::vector<KeyChange>& live);
void apply_service_log_levels(RuntimeControl& rc, const ConfigSection& root, const std::vector<std::string>& names);

// The config-file watch's bookkeeping (config_watch.cpp). At most one run
// is current: start and stop bump `epoch`, and a run whose epoch is not
// the current one ends at its next wake-up (stop also wakes it).
struct ConfigWatchState {
  std::uint64_t epoch = 0;  // bumped by every start and stop
  bool watching = false;    // the current epoch's run is alive (opening or watching)
  std::size_t runs = 0;     // runs not yet ended, current or not (their owner's count)
};

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
  // dropped connection); a trigger joins the next one to start (queued).
  // Outcomes of the last few are kept for their waiters, by id.
  bool runner_active = false;
  bool queued = false;
  ReloadTrigger queued_trigger = ReloadTrigger::console;
  std::uint64_t queued_id = 0;   // the queued transaction's id (while queued)
  std::uint64_t running_id = 0;  // the transaction running now (0: none)
  std::deque<ReloadOutcome> recent;
  std::uint64_t next_id = 1;
  std::optional<ReloadOutcome> last;
  bool file_differs = false;
  std::vector<Observer> observers;
  ConfigWatchState watch;

  void ensure_runner();
  boost::asio::awaitable<void> run_queue();
  boost::asio::awaitable<ReloadOutcome> transaction(ReloadTrigger trigger, std::uint64_t id);
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
