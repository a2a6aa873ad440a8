// `weftctl update` (update.hpp): the steps, the marker written before each,
// and how a run that finds a marker resolves it.
//
// Checks (nothing on disk changes but the scratch dir and packages/):
//   the running weftd answers `version` (its pid, build id, config, data
//   dir, store schema, update_settle); the package is Package weft, this
//   machine's Architecture, a Version newer than the installed one
//   (version command, `dpkg --compare-versions`; --force skips); its weftd,
//   extracted, runs (--build-info), reads no newer store schema than the
//   running weftd, and accepts the running config (--check-config). The
//   rollback package (the installed version's .deb) is packages/, else
//   --rollback-package, else the apt archive; else none (said, recorded).
//   The new package is copied into packages/ (atomic).
//
// Steps, each preceded by the marker <data_dir>/update/pending (atomic):
//   installing    install command on the kept new package
//   restarting    restart command
//   settling      the health gate (update_health.hpp)
//   committing    state := new version, previous := old, the old package
//                 kept; other packages deleted; marker removed
//   rolling-back  (any failure above) install command on the old package,
//                 restart, the old weftd up with every service ready;
//                 state records "rolled back" and why; the new package is
//                 deleted; marker removed
//
// A run that finds a marker (the updater that wrote it is gone: its flock
// on update/lock is free) resolves it before anything else, with the
// commands recorded in the marker:
//   installing, restarting, settling: the new version was never found
//     healthy, so it is rolled back ("interrupted at step X"); without an
//     old package, the steps are run again from installing (the new
//     version is what is installed, or half of it)
//   rolling-back: the rollback is run again (each of its steps can run twice)
//   committing: the commit is done again (it only writes what the marker says)
// At boot, weft-update-resume.service (packaging/) runs `weftctl update
// --resume --if-pending --lock-wait 300` after weftd.service, so a marker a
// power cut left is resolved with no operator; --if-pending makes every
// other boot a no-op that writes nothing, --lock-wait makes it wait for an
// updater an operator already started (which resolves the marker itself)
// instead of racing it.
// A kill -9 or power cut at any instant therefore leaves: the old package
// installed (before installing's install finished, or after a rollback),
// or the new one (after it) -- dpkg's own journal finishes or undoes a
// half-run dpkg at its next run -- and the marker naming both, which the
// next `weftctl update` (or `--resume`) resolves, and which weftd logs
// and shows (console `version`, STATUS=) until then.
//
// The install command runs with the updater's lock inherited: an updater
// killed mid-install leaves its dpkg running with the lock held, so no
// resume starts a second dpkg beside it.
#include "update.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "client.hpp"
#include "run_command.hpp"
#include "update_health.hpp"
#include "update_package.hpp"
#include "weft/apps/update/update_record.hpp"

namespace weftctl {
namespace {

namespace fs = std::filesystem;
using weft::update::Pending;
using weft::update::State;
using weft::update::Step;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string fmt_s(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

void say(const std::string& line) {
  std::printf("weftctl update: %s\n", line.c_str());
  std::fflush(stdout);
}

void complain(const std::string& line) {
  std::fprintf(stderr, "weftctl update: %s\n", line.c_str());
  std::fflush(stderr);
}

enum class Marker { absent, present, unknown };
// Whether <update dir>/pending is there, without throwing: a stat error
// other than "not there" (EACCES for a non-root user on /var/lib/weft,
// ELOOP, EIO) is unknown, with why in `error`.
Marker marker_at(const std::string& dir, std::string& error) {
  const std::string path = dir + "/" + std::string(weft::update::kPendingFile);
  std::error_code ec;
  const bool there = fs::exists(path, ec);
  if (ec) {
    error = "cannot look at " + path + ": " + ec.message();
    return Marker::unknown;
  }
  return there ? Marker::present : Marker::absent;
}

// Holds <update dir>/lock (flock, exclusive) while the updater runs; the
// file holds its pid, for the message another updater prints.
class UpdateLock {
public:
  ~UpdateLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  // "" taken; else why not. A held lock is retried every 200 ms for up
  // to wait_s (the boot unit waits for an updater an operator started).
  std::string take(const std::string& dir, double wait_s) {
    const std::string path = dir + "/" + std::string(weft::update::kLockFile);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return "cannot open " + path + ": " + std::strerror(errno);
    // A wait longer than steady_clock's range (a --lock-wait 1e10 or inf
    // meant as "forever"; nan too) is forever, not an overflow into the past.
    using Clock = std::chrono::steady_clock;
    const auto now = Clock::now();
    const double room_s = std::chrono::duration<double>(Clock::time_point::max() - now).count() / 2;
    const auto deadline = !(wait_s < room_s) ? Clock::time_point::max()
                                           : now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait_s));
    bool said = false;
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char buf[32] = {};
      [[maybe_unused]] const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      const std::string holder = "pid " + (buf[0] ? std::string(buf) : std::string("?")) +
                                 ", or an install step it started that still runs";
      if (std::chrono::steady_clock::now() >= deadline)
        return "another weftctl update holds " + path + " (" + holder + ")" +
               (wait_s > 0 ? "; waited " + fmt_s(wait_s) + " (--lock-wait) for it" : "") + "; wait for it to end";
      if (!said) say("another weftctl update holds " + path + " (" + holder + "); waiting up to " + fmt_s(wait_s) + " for it");
      said = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (said) say("the other updater ended; " + path + " taken");
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
      // the lock holds anyway; only the message of another updater lacks our pid
    }
    return {};
  }
  int fd() const noexcept { return fd_; }

private:
  int fd_ = -1;
};

class Updater {
public:
  explicit Updater(const UpdateRequest& r) : req_(r) {}

  int run() {
    RunningWeftd running;
    const std::string asked = ask_version(req_.socket, running);
    if (!asked.empty() && !req_.resume) {
      // What to do depends on why: an interrupted update, a stopped or
      // failing weftd, or a console elsewhere.
      const std::string dir = weft::update::update_dir(req_.data_dir.empty() ? "/var/lib/weft" : req_.data_dir);
      std::string unknown;
      const Marker marker = marker_at(dir, unknown);
      complain("weftd does not answer on " + req_.socket + " (" + asked +
               "); an update is checked and health-gated against the running weftd, so nothing was changed. " +
               (marker == Marker::present ? "An interrupted update is pending in " + dir +
                                                ": `weftctl update --resume` resolves it (no weftd needed), then update again. "
                : marker == Marker::unknown ? "weftctl cannot tell whether an interrupted update is pending: " + unknown +
                                                  " (run weftctl update as root). "
                                            : std::string()) +
               "Start weftd (`systemctl start weftd`; `systemctl status weftd` and `journalctl -u weftd` say why "
               "it is down), or pass --socket if [service.console] socket is elsewhere; if the installed weftd "
               "cannot start at all, `dpkg -i PACKAGE.deb` installs without the gate");
      return kExitNoConsole;
    }
    std::string data_dir = !req_.data_dir.empty() ? req_.data_dir : asked.empty() ? running.data_dir : "/var/lib/weft";
    if (data_dir.empty()) {
      complain("weftd (pid " + std::to_string(running.pid) + ") runs without [weftd] data_dir in " + running.config +
               "; the update record and the kept packages live there: set data_dir (e.g. \"/var/lib/weft\"); nothing "
               "was changed");
      return kExitFailed;
    }
    dir_ = weft::update::update_dir(data_dir);
    log_ = dir_ + "/steps.log";
    // The boot unit runs this on every boot: without a marker it touches
    // nothing (no update dir, no lock) and needs no weftd.
    if (req_.if_pending) {
      std::string unknown;
      const Marker marker = marker_at(dir_, unknown);
      if (marker == Marker::unknown) {
        complain("cannot tell whether an update is pending: " + unknown + " (run weftctl update as root); nothing was changed");
        return kExitFailed;
      }
      if (marker == Marker::absent) {
        say("no update is pending in " + dir_ + " (--if-pending: nothing to do)");
        return kExitOk;
      }
    }
    std::error_code ec;
    fs::create_directories(dir_ + "/" + std::string(weft::update::kPackagesDir), ec);
    if (ec) {
      complain("cannot create " + dir_ + "/packages: " + ec.message() + " (run weftctl update as root); nothing was changed");
      return kExitFailed;
    }
    if (std::string e = lock_.take(dir_, req_.lock_wait_s); !e.empty()) {
      complain(e + "; nothing was changed");
      return kExitFailed;
    }

    const auto pending = weft::update::read_pending(dir_);
    if (!pending.error.empty()) {
      complain("the update marker is damaged: " + pending.error +
               "; look at it, then move it aside (the box runs what `" + req_.version_cmd + "` says); nothing was changed");
      return kExitFailed;
    }
    if (pending.value) {
      const int resolved = resolve(*pending.value);
      if (req_.resume || req_.package.empty() || (resolved != kExitOk && resolved != kExitRolledBack)) return resolved;
      say("the interrupted update is resolved; now " + req_.package);
      running = {};
      if (std::string e = ask_version(req_.socket, running); !e.empty()) {
        complain("weftd does not answer on " + req_.socket + " after the resolution (" + e + "); nothing more was changed");
        return kExitNoConsole;
      }
    } else if (req_.resume) {
      say("no update is pending in " + dir_);
      return kExitOk;
    }
    return fresh(running);
  }

private:
  // ---- checks ---------------------------------------------------------------
  int refuse(const std::string& why) {
    complain(why + "; nothing was changed");
    return kExitFailed;
  }

  std::string installed_version(std::string& out) {
    CommandSpec spec = shell_step(req_.version_cmd, {});
    spec.timeout_s = 60;
    const CommandResult r = run_command(spec);
    std::string v = r.output;
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    if (!r.ok() || v.empty() || v.find('\n') != std::string::npos)
      return "the installed version (`" + req_.version_cmd + "`) is unknown: " + (r.ok() ? "it printed '" + v + "'" : r.summary());
    out = v;
    return {};
  }

  // The installed version's package: kept here, given, or in apt's cache; "" none.
  std::string find_rollback_package(const std::string& version, std::string& note) {
    const std::string kept = dir_ + "/packages/" + weft::update::package_file_name(version, arch_);
    if (fs::exists(kept)) {
      note = "rollback package " + kept + " (kept by an earlier update)";
      return kept;
    }
    std::vector<std::string> candidates;
    if (!req_.rollback_package.empty()) candidates.push_back(req_.rollback_package);
    candidates.push_back(req_.apt_archives + "/" + weft::update::package_file_name(version, arch_));
    for (const std::string& c : candidates) {
      if (!fs::exists(c)) continue;
      PackageFields f;
      if (std::string e = read_fields(c, f); !e.empty() || f.package != "weft" || f.version != version ||
                                             f.architecture != arch_) {
        note = "warning: " + c + " is not weft " + version + " (" + arch_ + "): " + (e.empty() ? f.package + " " + f.version + " " + f.architecture : e);
        continue;
      }
      if (std::string e = copy_file_atomic(c, kept); !e.empty()) {
        note = "warning: cannot keep " + c + ": " + e;
        continue;
      }
      note = "rollback package " + kept + " (copied from " + c + ")";
      return kept;
    }
    note = "warning: no package of the installed weft " + version + " is kept (it was not installed by weftctl update, "
           "and neither --rollback-package nor " + candidates.back() + " has it): if " + fields_.version +
           " is not healthy it stays installed; pass --rollback-package OLD.deb to have a rollback point";
    return {};
  }

  int fresh(const RunningWeftd& running) {
    const auto t0 = std::chrono::steady_clock::now();
    if (std::string e = read_fields(req_.package, fields_); !e.empty()) return refuse(e);
    if (fields_.package != "weft") return refuse(req_.package + " is package '" + fields_.package + "', not weft");
    if (std::string e = machine_architecture(arch_); !e.empty()) return refuse(e);
    if (fields_.architecture != arch_)
      return refuse(req_.package + " is for architecture " + fields_.architecture + ", this machine is " + arch_);
    std::string installed;
    if (std::string e = installed_version(installed); !e.empty()) return refuse(e);
    std::string error;
    const bool newer = compare_versions(fields_.version, "gt", installed, error);
    if (!error.empty()) return refuse(error);
    if (!newer && !req_.force)
      return refuse("weft " + fields_.version + " is not newer than the installed " + installed +
                    " (dpkg --compare-versions); --force installs it anyway");
    say(req_.package + ": weft " + fields_.version + " (" + arch_ + "); installed: weft " + installed + ", weftd " +
        running.version + " pid " + std::to_string(running.pid));
    if (running.config.empty()) return refuse("the running weftd names no config file (`version`)");

    const std::string scratch = dir_ + "/check." + std::to_string(::getpid());
    BuildInfo info;
    std::string check_line;
    const std::string checked = check_new_weftd(req_.package, scratch, running.config, info, check_line);
    std::error_code ec;
    fs::remove_all(scratch, ec);
    if (!checked.empty()) return refuse(checked);
    say("its weftd " + info.version + " (build id " + (info.build_id.empty() ? "none" : info.build_id) +
        ", store schema " + std::to_string(info.store_schema) + ") accepts " + check_line);
    if (info.store_schema > running.store_schema)
      return refuse("the package's weftd writes store schema " + std::to_string(info.store_schema) +
                    ", the running weftd reads only up to " + std::to_string(running.store_schema) +
                    ": once migrated, the store could not be opened by the version a rollback returns to, so "
                    "weftctl update does not install it (README \"Store schema and rollback\"); install it with "
                    "dpkg -i if going back is not needed");

    std::string note;
    const std::string rollback = find_rollback_package(installed, note);
    say(note);
    const std::string kept = dir_ + "/packages/" + weft::update::package_file_name(fields_.version, arch_);
    if (fs::weakly_canonical(req_.package, ec) != fs::weakly_canonical(kept, ec))
      if (std::string e = copy_file_atomic(req_.package, kept); !e.empty())
        return refuse("cannot keep the new package as " + kept + ": " + e);
    say("checks passed in " + fmt_s(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));

    Pending p;
    p.from_version = installed;
    p.from_package = rollback;
    p.from_build_id = running.build_id;
    p.to_version = fields_.version;
    p.to_package = kept;
    p.to_build_id = info.build_id;
    p.updater_pid = ::getpid();
    p.started_unix_ms = wall_ms();
    p.install_cmd = req_.install_cmd;
    p.restart_cmd = req_.restart_cmd;
    p.version_cmd = req_.version_cmd;
    p.socket = req_.socket;
    p.settle_s = req_.settle_s >= 0 ? req_.settle_s : running.update_settle_s >= 0 ? running.update_settle_s : 60;
    p.start_timeout_s = req_.start_timeout_s;
    return steps(p, running.pid);
  }

  // ---- steps ----------------------------------------------------------------
  bool mark(Pending& p, Step step) {
    p.step = step;
    p.updater_pid = ::getpid();
    if (const weft::AtomicWriteError e = weft::update::write_pending(dir_, p)) {
      complain("cannot write the update marker: " + e.message());
      return false;
    }
    return true;
  }

  CommandResult step_command(const std::string& command, const std::vector<std::string>& args, double timeout_s,
                             bool keep_lock) {
    CommandSpec spec = shell_step(command, args);
    spec.timeout_s = timeout_s;
    spec.log = log_;
    if (keep_lock) spec.keep_fd = lock_.fd();
    const CommandResult r = run_command(spec);
    if (!r.ok()) complain("`" + command + (args.empty() ? "" : " " + args.front()) + "` " + r.summary() + " (output in " + log_ + ")");
    return r;
  }

  int steps(Pending& p, int old_pid) {
    if (!mark(p, Step::installing)) return refuse("the marker could not be written");
    CommandResult r = step_command(p.install_cmd, {p.to_package}, req_.install_timeout_s, true);
    if (!r.ok()) return roll_back(p, "installing " + p.to_version + " failed: " + r.summary(), old_pid);
    say("installed " + p.to_version + " (" + p.install_cmd + ") in " + fmt_s(r.took_s));

    if (!mark(p, Step::restarting)) return roll_back(p, "the marker could not be written", old_pid);
    r = step_command(p.restart_cmd, {}, p.start_timeout_s, false);
    if (!r.ok()) return roll_back(p, "restarting weftd on " + p.to_version + " failed: " + r.summary(), old_pid);
    say("restarted (" + p.restart_cmd + ") in " + fmt_s(r.took_s));

    if (!mark(p, Step::settling)) return roll_back(p, "the marker could not be written", old_pid);
    const auto settle_from = std::chrono::steady_clock::now();
    const HealthResult h = wait_healthy({p.socket, old_pid, p.to_build_id, p.start_timeout_s, p.settle_s});
    if (!h.healthy) return roll_back(p, p.to_version + " not healthy: " + h.why, h.weftd.pid > 0 ? h.weftd.pid : old_pid);
    say("weftd " + h.weftd.version + " pid " + std::to_string(h.weftd.pid) + ": " + std::to_string(h.services) +
        " services ready in " + fmt_s(h.up_s) + ", then no restart and no stall for " + fmt_s(p.settle_s) + " (" +
        fmt_s(std::chrono::duration<double>(std::chrono::steady_clock::now() - settle_from).count()) + ")");

    if (!mark(p, Step::committing)) return roll_back(p, "the marker could not be written", h.weftd.pid);
    return finish(p, "committed", "");
  }

  int roll_back(Pending& p, const std::string& why, int bad_pid) {
    complain(why);
    p.why = why;
    if (!mark(p, Step::rolling_back)) {
      // Without the marker a kill now would look like the earlier step; go on anyway.
    }
    if (p.from_package.empty())
      return finish(p, "failed", why + "; no package of " + p.from_version + " was kept, so " + p.to_version +
                                     " stays installed");
    say("rolling back to " + p.from_version + " (" + p.from_package + ")");
    CommandResult r = step_command(p.install_cmd, {p.from_package}, req_.install_timeout_s, true);
    if (!r.ok()) return finish(p, "rollback failed", why + "; then reinstalling " + p.from_version + " failed: " + r.summary());
    r = step_command(p.restart_cmd, {}, p.start_timeout_s, false);
    if (!r.ok()) return finish(p, "rollback failed", why + "; then restarting on " + p.from_version + " failed: " + r.summary());
    // The previous version ran before: up with every service ready is its gate (no second settle window).
    const HealthResult h = wait_healthy({p.socket, bad_pid, p.from_build_id, p.start_timeout_s, 0});
    if (!h.healthy) return finish(p, "rollback failed", why + "; then " + p.from_version + " " + h.why);
    say("weftd " + h.weftd.version + " pid " + std::to_string(h.weftd.pid) + " back on " + p.from_version + ", " +
        std::to_string(h.services) + " services ready in " + fmt_s(h.up_s));
    return finish(p, "rolled back", why);
  }

  // The outcome into the state file (a damaged one kept aside, said), the
  // packages pruned, the marker removed.
  int finish(const Pending& p, const std::string& result, const std::string& why) {
    auto read = weft::update::read_state(dir_);
    if (!read.error.empty()) {
      // The outcome must still be recorded (and the marker go); what the
      // damaged file held is kept for a person, not overwritten.
      const std::string path = dir_ + "/" + std::string(weft::update::kStateFile);
      const std::string aside = path + ".damaged." + std::to_string(wall_ms());
      std::error_code ec;
      fs::rename(path, aside, ec);
      complain("the update state file is damaged (" + read.error + "); " +
               (ec ? "it could not be kept aside (" + ec.message() + ") and is replaced"
                   : "kept as " + aside + "; the record starts again with this outcome"));
    }
    State state = read.value.value_or(State{});
    std::string now_installed;
    if (std::string e = installed_version(now_installed); !e.empty()) now_installed = "";
    weft::update::Outcome o{p.started_unix_ms, wall_ms() - p.started_unix_ms, p.from_version, p.to_version, result, why};
    if (result == "committed" || result == "failed") {
      state.previous_version = p.from_version;
      state.previous_package = p.from_package;
    }
    state.current_version = now_installed.empty() ? (result == "rolled back" ? p.from_version : p.to_version) : now_installed;
    state.history.push_back(o);
    if (state.history.size() > weft::update::kHistoryKeep) state.history.erase(state.history.begin());
    if (const weft::AtomicWriteError e = weft::update::write_state(dir_, state)) {
      complain("cannot record the outcome (" + result + "): " + e.message() + "; the marker stays for a --resume");
      return kExitUpdateFailed;
    }
    // Kept: what is installed now and the rollback point; the rest goes.
    std::set<std::string> keep;
    if (!state.previous_package.empty()) keep.insert(fs::path(state.previous_package).filename().string());
    if (result == "committed" || result == "failed") keep.insert(fs::path(p.to_package).filename().string());
    if (result != "committed" && result != "failed" && !p.from_package.empty())
      keep.insert(fs::path(p.from_package).filename().string());
    if (result == "rollback failed") keep.insert(fs::path(p.to_package).filename().string());  // both, to look at
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_ + "/packages", ec))
      if (!keep.contains(entry.path().filename().string())) fs::remove(entry.path(), ec);
    if (const weft::AtomicWriteError e = weft::update::remove_pending(dir_)) complain("cannot remove the marker: " + e.message());
    RunningWeftd w;
    ask_version(p.socket, w);  // weftd re-reads the record: STATUS= follows
    const std::string took = fmt_s(static_cast<double>(o.took_ms) / 1000.0);
    if (result == "committed") {
      say("committed: weft " + p.from_version + " -> " + p.to_version + " in " + took + "; rollback point kept: " +
          (p.from_package.empty() ? "none" : p.from_package));
      return kExitOk;
    }
    if (result == "rolled back") {
      say("rolled back: weft " + p.to_version + " -> " + p.from_version + " runs again (update took " + took +
          "); recorded in " + dir_ + "/state");
      return kExitRolledBack;
    }
    complain(result + ": " + why + "; recorded in " + dir_ + "/state");
    return kExitUpdateFailed;
  }

  // ---- a marker left by an updater that is gone -------------------------------
  int resolve(Pending p) {
    say("found an update " + p.from_version + " -> " + p.to_version + " interrupted at step " +
        std::string(weft::update::to_string(p.step)) + " (updater pid " + std::to_string(p.updater_pid) +
        " is gone); resolving it with the commands it recorded");
    arch_.clear();
    RunningWeftd now;
    const int now_pid = ask_version(p.socket, now).empty() ? now.pid : -1;
    // Killed inside finish(), between recording the outcome and removing
    // the marker: the step is done; replaying it would record the outcome
    // twice and, for a rollback, reinstall and restart weftd for nothing.
    // (The packages finish() would have pruned go at the next update.)
    if (const auto read = weft::update::read_state(dir_);
        read.value && !read.value->history.empty() && read.value->history.back().started_unix_ms == p.started_unix_ms) {
      const std::string result = read.value->history.back().result;
      say("its outcome (" + result + ") was recorded before the updater ended; removing the marker");
      if (const weft::AtomicWriteError e = weft::update::remove_pending(dir_)) complain("cannot remove the marker: " + e.message());
      return result == "committed" ? kExitOk : result == "rolled back" ? kExitRolledBack : kExitUpdateFailed;
    }
    const std::string interrupted = "interrupted at step " + std::string(weft::update::to_string(p.step)) +
                                    " (the updater, pid " + std::to_string(p.updater_pid) + ", ended before the commit)";
    switch (p.step) {
      case Step::committing: return finish(p, "committed", "");
      case Step::rolling_back: return roll_back(p, p.why + "; the rollback was " + interrupted, now_pid);
      case Step::installing:
      case Step::restarting:
      case Step::settling:
        if (!p.from_package.empty()) return roll_back(p, interrupted, now_pid);
        say("no package of " + p.from_version + " to roll back to: running the steps of " + p.to_version + " again");
        return steps(p, now_pid);
    }
    return kExitFailed;
  }

  const UpdateRequest& req_;
  std::string dir_;
  std::string log_;
  std::string arch_;
  PackageFields fields_;
  UpdateLock lock_;
};

}  // namespace

int update(const UpdateRequest& request) { return Updater(request).run(); }

}  // namespace weftctl
