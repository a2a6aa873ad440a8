// What `weftctl update` leaves in <data_dir>/update/ and weftd reads back
// (console `version`, STATUS=): the pending-update marker and the update
// state. Standard library and atomic_file.hpp only: weftctl compiles this
// file too, so the updater and weftd read and write one format.
//
//   <data_dir>/update/pending    the marker: exists only while an update is
//                                in progress; replaced atomically BEFORE each
//                                step, so a kill or power cut at any instant
//                                leaves the step that was under way
//   <data_dir>/update/state      what the updater committed: the version it
//                                installed, the previous one and its package
//                                (the rollback point), the last 10 outcomes
//   <data_dir>/update/packages/  the kept packages, weft_VERSION_ARCH.deb
//   <data_dir>/update/lock       flock()ed by the running updater
//
// Format (both files): "key=value" lines, "#" comments, the first key
// format=1; values escape \\ \n \t. Unknown keys are ignored, so a newer
// updater's file stays readable. Reading is blocking file I/O, writing
// fsyncs: never on the loop thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/core/atomic_file.hpp"

namespace weft::update {

inline constexpr std::string_view kDirName = "update";
inline constexpr std::string_view kPendingFile = "pending";
inline constexpr std::string_view kStateFile = "state";
inline constexpr std::string_view kPackagesDir = "packages";
inline constexpr std::string_view kLockFile = "lock";
inline constexpr std::size_t kHistoryKeep = 10;

// The step a pending update was in. Each is written before the step starts.
//
//   (checks: nothing written)
//        |
//   installing --> restarting --> settling --> committing --> (marker removed)
//        |              |             |
//        +--------------+-------------+--> rolling_back --> (marker removed)
enum class Step { installing, restarting, settling, rolling_back, committing };
std::string_view to_string(Step s) noexcept;
std::optional<Step> parse_step(std::string_view s) noexcept;

struct Pending {
  Step step = Step::installing;
  std::string from_version;   // what ran before (the installed package's version)
  std::string from_package;   // its package, kept: the rollback point ("" none)
  std::string from_build_id;  // the weftd that ran before (a rollback must bring it back)
  std::string to_version;
  std::string to_package;     // the new package, kept in packages/
  std::string to_build_id;    // the new weftd's ELF build id ("" none)
  std::string why;            // rolling_back: why the new version was not healthy
  long updater_pid = 0;       // the process that wrote it (its lock says whether it lives)
  std::int64_t started_unix_ms = 0;
  // How the run that wrote it works, so that a resume does the same.
  std::string install_cmd;
  std::string restart_cmd;
  std::string version_cmd;
  std::string socket;
  double settle_s = 60;
  double start_timeout_s = 150;
};

// One finished update (or resolved interruption).
struct Outcome {
  std::int64_t started_unix_ms = 0;
  std::int64_t took_ms = 0;
  std::string from_version;
  std::string to_version;
  std::string result;  // "committed", "rolled back", "rollback failed", "failed" (nothing to roll back to)
  std::string why;     // empty when committed
};

struct State {
  std::string current_version;   // the version the updater left running
  std::string previous_version;  // the one before it ("" none)
  std::string previous_package;  // its package, the rollback point of the next update ("" none)
  std::vector<Outcome> history;  // oldest first, at most kHistoryKeep
};

std::string render(const Pending& p);
std::string render(const State& s);
// Parse a file's text; false and `error` ("line 3: ...") when it is not one.
bool parse(std::string_view text, Pending& out, std::string& error);
bool parse(std::string_view text, State& out, std::string& error);

// A file read from the update dir: absent, read, or damaged (error says why).
template <class T>
struct Read {
  std::optional<T> value;
  std::string error;  // non-empty: the file is there but unreadable or damaged
};
Read<Pending> read_pending(const std::string& update_dir);
Read<State> read_state(const std::string& update_dir);
AtomicWriteError write_pending(const std::string& update_dir, const Pending& p);
AtomicWriteError write_state(const std::string& update_dir, const State& s);
// Removes the marker and fsyncs the directory (the removal is durable).
AtomicWriteError remove_pending(const std::string& update_dir);

// <data_dir>/update
std::string update_dir(const std::string& data_dir);
// "weft_1.2-3_amd64.deb"
std::string package_file_name(const std::string& version, const std::string& arch);

// One line for STATUS= and `services`: the last update and its outcome, or
// the pending one ("" when the updater never ran here).
std::string status_note(const std::optional<State>& state, const std::optional<Pending>& pending);

}  // namespace weft::update
