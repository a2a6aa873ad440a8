// What one reload transaction did: the record the reload coordinator
// (apps/reload/) hands to every trigger (SIGHUP, console `reload`, the
// config-file watch, remote config), writes to the config history in the
// data dir and logs. Plain data: no Asio, no runtime, cheap to copy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::apps {

enum class ReloadTrigger { signal, console, watch, remote };

enum class ReloadResult {
  applied,          // every step done, every touched service ready and settled
  unchanged,        // the new file has the running config's effect: nothing to do
  refused,          // invalid file, or a key that only changes at start: nothing changed
  rolled_back,      // a step failed; every touched service runs its previous config again
  rollback_failed,  // a step failed and so did putting a service back: left to normal supervision
  // Only in the config history: the entry written when the transaction
  // began (with its id reservation), which its outcome replaces when it
  // ends. Still there afterwards: weftd stopped or died before the end.
  interrupted,
};

inline std::string_view to_string(ReloadTrigger t) noexcept {
  switch (t) {
    case ReloadTrigger::signal: return "signal";
    case ReloadTrigger::console: return "console";
    case ReloadTrigger::watch: return "watch";
    case ReloadTrigger::remote: return "remote";
  }
  return "?";
}

inline std::string_view to_string(ReloadResult r) noexcept {
  switch (r) {
    case ReloadResult::applied: return "applied";
    case ReloadResult::unchanged: return "unchanged";
    case ReloadResult::refused: return "refused";
    case ReloadResult::rolled_back: return "rolled back";
    case ReloadResult::rollback_failed: return "rollback failed";
    case ReloadResult::interrupted: return "interrupted";
  }
  return "?";
}

// One service the transaction stopped, restarted or started.
struct ReloadServiceStep {
  std::string service;
  std::string action;  // "stop", "restart", "start" (PlanAction), or "rollback"
  bool ok = true;
  std::string error;   // why it failed (its own error, "not ready within 10000 ms", ...)
  std::int64_t start_us = 0;  // start and restart: from its start to ready (or to the failure), monotonic
};

struct ReloadOutcome {
  std::uint64_t id = 0;            // transaction number, increasing across restarts (from the history)
  std::int64_t started_unix_ms = 0;  // wall clock, for people reading the history
  std::int64_t took_us = 0;        // from trigger to outcome, monotonic
  ReloadTrigger trigger = ReloadTrigger::console;
  ReloadResult result = ReloadResult::refused;
  std::string file;                // the config file read
  std::string config_hash;         // of the config running afterwards (16 hex digits, FNV-1a 64 of its bytes)
  std::vector<std::string> errors;  // refused: every error (file:line:col); rolled back: the service and its error
  std::vector<ReloadServiceStep> services;  // in the order they were touched
  std::vector<std::string> live;   // keys applied without a restart ("weftd.log_level")
  // Applied, but worth saying: a [store] path change leaves the readings
  // upload has not delivered in the old file (how many, when known).
  std::vector<std::string> warnings;
};

}  // namespace weft::apps
