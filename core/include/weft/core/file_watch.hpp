// Watches one file (the config file) for changes. inotify watches the
// file's DIRECTORY, filtered to the file's name, so a file replaced by a
// rename (vim, `sed -i`, atomic_replace, config management) is seen as well
// as one written in place (IN_CLOSE_WRITE: once the writer closed it, never
// half-written). A burst of events is ONE change, reported once the file
// has been quiet for `debounce`, or at the latest `max_delay` after the
// burst's first event (a file rewritten without pause is still reported);
// both on the runtime's timers, so virtual time in simulation. A change
// means "the file was written or replaced", not "its content differs":
// whether it has a new effect is the reload plan's question (it answers
// "unchanged"). A file removed and not back by the end of the burst is no
// change; its return is one.
//
//   idle --event--> settling --quiet for debounce, or max_delay since the
//     ^                |       first event, and the file exists--> report
//     +----------------+  (another event: settling again, deadline moved)
//   any --cancellation--> closed (fd closed)   any --directory gone--> error
//
// In a service (open() looks the path up: off the loop):
//   auto open = [&] { return FileWatch::open(path, ctx.timers()); };  // named: GCC 12
//   FileWatch watch = co_await ctx.blocking_result(open);
//   for (;;) { co_await watch.changed(); /* trigger a reload */ }
//
// A symlinked file is watched as the link (its directory, its name):
// a change to the link's target elsewhere is not seen.
// Never blocks the loop: the inotify fd is non-blocking, waited on by Asio.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "weft/core/clock.hpp"

namespace weft {

class TimerQueue;

// What went wrong and what to do: "cannot watch /etc/weft/weftd.toml: its
// directory /etc/weft does not exist; create it or fix the path".
class FileWatchError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct FileWatchOptions {
  Duration debounce = std::chrono::milliseconds(500);  // quiet time that ends a burst
  Duration max_delay = std::chrono::seconds(5);        // a burst is reported by then, however long it goes on
};

struct FileChange {
  std::uint64_t events = 0;  // inotify events on the file coalesced into this change (>= 1)
  MonoTime first{};          // runtime clock: when the burst's first event was read
  MonoTime last{};           // ... and its last
  bool overflow = false;     // the kernel's event queue overflowed: a change may have been missed, so one is reported
};

class FileWatch {
public:
  // Starts watching `path`'s directory (inotify_init1 + inotify_add_watch).
  // Blocking (a path lookup): call it on the blocking pool
  // (ctx.blocking_result), or before the loop runs. Any thread. Throws
  // FileWatchError: the directory is missing or not readable, the inotify
  // instance or watch limit is reached (says which sysctl to raise), ...
  // The file itself need not exist. `timers` (the runtime's) must outlive
  // the watch.
  static FileWatch open(const std::string& path, TimerQueue& timers, FileWatchOptions options = {});

  FileWatch(FileWatch&&) noexcept;
  FileWatch& operator=(FileWatch&&) noexcept;
  ~FileWatch();  // closes the inotify fd

  // Loop thread. The next change (see the top of this file). Events that
  // arrive between two calls are kept (in the kernel's queue, or as the
  // settling burst) and reported by the next call. One call at a time.
  // Cancellation (any type: it is how the owner's stop arrives, also as the
  // loser of `changed() || timer`) ends the wait at once, at any point,
  // also mid-debounce, with operation_aborted, and CLOSES the watch: a
  // later changed() throws FileWatchError. Throws FileWatchError if the
  // directory is removed, moved or unmounted, or if reading the inotify fd
  // fails; the watch is closed then too (open a new one to go on).
  boost::asio::awaitable<FileChange> changed();

  const std::string& path() const noexcept { return path_; }
  const std::string& directory() const noexcept { return dir_; }
  bool is_open() const noexcept;
  void close() noexcept;  // loop thread (or while no changed() runs)

private:
  struct Impl;
  FileWatch(std::string path, std::string dir, std::unique_ptr<Impl> impl);

  std::string path_;
  std::string dir_;
  std::unique_ptr<Impl> impl_;
};

// The message for a failed inotify step (errno `err`), for FileWatchError:
// exposed so the limits' messages, which no test can provoke without
// exhausting a system-wide resource, are tested as text.
std::string file_watch_error_message(int err, const char* doing, const std::string& path, const std::string& dir);

}  // namespace weft
