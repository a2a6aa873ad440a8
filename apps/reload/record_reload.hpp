// Internal: what a reload transaction does around record and its store
// (reload_transaction.cpp calls these at fixed points; reload_impl.hpp).
//
// A [store] change on the running store's file (StoreSwap). Two Store
// objects must never write one file, and the running Store's specs (record
// and upload hold a Store*) must not outlive it. So, in the transaction:
//
//   stop record, upload, ca ..... (the plan restarts them: [store] is theirs)
//   table changed ............... (their new specs hold the new, unopened Store)
//   close_running() ............. the running Store destroyed on the blocking
//                                 pool: its queue committed, its seq
//                                 reservation given back (no gap), its
//                                 path claim released
//   start record, upload ........ record opens the new Store on the same file
//   settle
//   on a failure, before_rollback(): the new Store destroyed the same way,
//   and record's and upload's previous definitions swapped for the same
//   specs on a fresh Store with the previous settings (the running config
//   assembled again, PreparedReload::rollback), which record then opens.
//
// Readings published while record is down wait in the process's record
// intake (record_intake.hpp) and are recorded by the next run, whichever
// Store it writes: seqs stay contiguous, the ledger has no gap.
//
// Safety: a Store is destroyed only when every service that may hold it
// (record, upload, ca) is stopped or failed and never left a run behind
// (ServiceInfo::abandoned_runs): a run abandoned past its stop grace may
// still append to it. Otherwise close_running() refuses (the reload rolls
// back onto the running Store, untouched), and before_rollback() keeps the
// new Store alive and says so (the previous settings then cannot open the
// file: the path claim waits for the new Store's close, then fails; one
// writer per file either way).
//
// Also here: the record intake released once a reload stopped record for
// good (removed or disabled), and the backlog a [store] path change leaves
// behind, counted for the outcome.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "reload_impl.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {

// prepare_reload's part (blocking pool): whether the new [store] is on the
// running store's file (its path as the store's claim names it, or the
// same file by another name: a symlink), and then p.rollback. A path change
// to the same file drops the plan's backlog warning (nothing stays behind).
void prepare_store_reopen(PreparedReload& p, const std::string& running_text, const std::filesystem::path& file,
                          const RunMode& mode, store::Store* running_store);

class StoreSwap {
public:
  // `fresh`: the new Assembly (its store is the new Store on the same file).
  StoreSwap(ReloadCoordinator::Impl& c, PreparedReload& p, std::shared_ptr<Assembly> fresh);

  // The reload changes [store] on the running store's file.
  bool active() const noexcept { return p_.store_reopened; }

  // Between the stops and the starts (the table already changed). "" once
  // the running Store is closed; else why it was not (nothing closed: roll back).
  boost::asio::awaitable<std::string> close_running();

  // Rolling back, after the started services stopped, before the previous
  // table is restored: if close_running() closed the running Store, closes
  // the new one and gives `previous` (record's and upload's definitions)
  // specs on a Store with the previous settings, which becomes the running
  // one (Impl::current->store). A problem is appended to `errors` and logged.
  boost::asio::awaitable<void> before_rollback(std::map<std::string, ServiceDefinition>& previous,
                                               std::vector<std::string>& errors);

private:
  // Why `which` (a Store record or upload may hold) cannot be destroyed now ("" if it can).
  std::string unsafe_to_close(const std::string& which) const;

  ReloadCoordinator::Impl& c_;
  RuntimeControl& rc_;
  PreparedReload& p_;
  std::shared_ptr<Assembly> fresh_;
  bool closed_ = false;  // close_running() destroyed the running Store
};

// The services that hold a store::Store* (catalog.cpp hands it to these: record, upload, ca).
const std::vector<std::string>& store_users();

// After an applied reload that stopped record for good (removed or
// disabled): the process's intake lets go of its subscription, so it
// neither fills to capacity while record is off nor makes a later
// re-enable record that interval as a `dropped` gap (record is off by
// config: nothing is owed). The readings that waited are logged.
void release_record_intake(ReloadCoordinator::Impl& c, const ReloadPlan& plan);

// The warnings of a [store] path change, with the old file's undelivered
// backlog counted on the running store's reader (bounded: 1 s; uncounted
// if slower). Before anything stops.
boost::asio::awaitable<std::vector<std::string>> store_move_warnings(ReloadCoordinator::Impl& c, const ReloadPlan& plan);

}  // namespace weft::apps
