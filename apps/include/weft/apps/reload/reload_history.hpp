// The config history: the last kReloadHistoryKeep (20) reload transactions
// (ReloadOutcome), oldest first, in <data_dir>/reload-history.toml, and the
// id of the next one, so ids keep increasing across restarts. Written
// whole by atomic replace (atomic_file.hpp: a kill or power cut leaves the
// old or the new file). Read tolerantly: a damaged file (unparsable,
// truncated, a checksum that does not match, a field of the wrong type,
// an unknown version) is moved
// aside to reload-history.toml.damaged (replacing an older one: bounded)
// with a warning that says so, and the history restarts empty, keeping
// the ids it can still find in the damaged text; a bad file never stops
// weftd. One writer: the reload coordinator, one transaction at a time
// (calls in this process are serialised anyway).
//
// File format (TOML, version 1; unknown keys are ignored on reading):
//   # comment lines
//   checksum = "0123456789abcdef"       # FNV-1a 64 of every byte after this line:
//                                       # a file cut short at a table boundary still parses, so
//                                       # without it a torn file would pass for a shorter history
//   version = 1
//   next_id = 43
//   [[reload]]                          # oldest first
//   id = 42
//   started_unix_ms = 1767225600000     # wall clock
//   took_us = 1234567                   # monotonic
//   trigger = "console"                 # signal, console, watch, remote
//   result = "applied"                  # applied, unchanged, refused, rolled back, rollback failed
//   file = "/etc/weft/weftd.toml"
//   config_hash = "0123456789abcdef"
//   errors = ["..."]                    # at most kMaxErrors, each at most kMaxText bytes (then cut, marked)
//   live = ["weftd.log_level"]
//   warnings = ["..."]                  # optional (absent: none); bounded as errors
//     [[reload.service]]                # at most kMaxServices, in the order touched
//     service = "gather"
//     action = "restart"
//     ok = false
//     error = "not ready within 10000 ms"
//
// Every function here does file I/O (and fsync when writing): BLOCKING,
// call them on the blocking pool (ctx.blocking_result), never on the loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/apps/reload/reload_outcome.hpp"

namespace weft::apps {

inline constexpr std::size_t kReloadHistoryKeep = 20;
inline constexpr std::string_view kReloadHistoryFile = "reload-history.toml";

struct ReloadHistory {
  std::vector<ReloadOutcome> entries;  // oldest first, at most kReloadHistoryKeep
  std::uint64_t next_id = 1;           // the id the next transaction gets (> every id above)
  // Non-empty: the file was damaged or unreadable. Says what was wrong, and
  // where the file went (moved aside) or that it stays (HistoryDamage::leave).
  // Log it as a warning.
  std::string warning;
};

// "<data_dir>/reload-history.toml"
std::string reload_history_path(const std::string& data_dir);

enum class HistoryDamage {
  move_aside,  // the writer's way: the damaged file goes to reload-history.toml.damaged
  leave,       // a reader's (the console): reports the damage, changes nothing on disk
};

// The history in `data_dir`; no file: empty, next_id 1. Never throws for
// the file's content (see the top of this file). Blocking.
ReloadHistory load_reload_history(const std::string& data_dir, HistoryDamage damage = HistoryDamage::move_aside);

struct ReloadHistoryWrite {
  std::uint64_t id = 0;  // reserve_reload_id: the id reserved; append: the id written
  std::string warning;   // from reading the old file (damaged, moved aside): log it
  std::string error;     // the write failed ("cannot fsync ...: No space left on device"): log it;
                         // the transaction itself stands, only its record is missing
  bool ok() const noexcept { return error.empty(); }
};

// Reserves the next transaction's id: reads next_id, writes next_id + 1
// back, then returns it, so a transaction that dies with the box never
// has its id given again. If the write fails, the id is still returned
// (error says why). `at_least`: the id the coordinator already gave the
// transaction (at enqueue; ids given to superseded remote configs leave
// the file behind it): reserved is the larger of it and the file's next_id,
// so that id is never given again either. `started` (optional): the entry
// kept for the reserved id until append_reload_history replaces it with
// the outcome (its id is set to the one reserved; give it result
// interrupted): a transaction that weftd's stop or death cuts short still
// has its line in the history. Blocking.
ReloadHistoryWrite reserve_reload_id(const std::string& data_dir, std::uint64_t at_least = 0,
                                     const ReloadOutcome* started = nullptr);

// Appends `outcome` (replacing an entry with the same id; id 0: the next
// id is given it), keeps the newest
// kReloadHistoryKeep, and sets next_id past outcome.id. Bounds what it keeps
// of an outcome (kMaxErrors, kMaxServices, kMaxText). Blocking.
ReloadHistoryWrite append_reload_history(const std::string& data_dir, const ReloadOutcome& outcome);

// The file's text and back, for tests and tools. parse throws ConfigError
// (file:line:col) or std::runtime_error for a semantic problem.
std::string format_reload_history(const ReloadHistory& history);
ReloadHistory parse_reload_history(std::string_view text, const std::string& source_name);

// What a history entry keeps of an outcome, at most.
inline constexpr std::size_t kMaxErrors = 32;
inline constexpr std::size_t kMaxServices = 64;
inline constexpr std::size_t kMaxText = 2000;

// "applied", ... back to the enum (the inverse of to_string); false: unknown.
bool parse_reload_trigger(std::string_view text, ReloadTrigger& out);
bool parse_reload_result(std::string_view text, ReloadResult& out);

}  // namespace weft::apps
