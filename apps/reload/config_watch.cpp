// The config-file watch ([weftd] watch_config = true): a coroutine owned by
// the reload coordinator that waits for the next change of the config file
// (core/file_watch.hpp: inotify on its directory, debounced) and triggers a
// reload (ReloadTrigger::watch), the same transaction SIGHUP runs.
//
//   follow_watch_config (attach; every applied or unchanged reload)
//     watch_config = true,  none current --> start_watch: a new run (epoch+1)
//     watch_config = false, one current  --> stop_watch: epoch+1, wake it
//
//   run: open (blocking pool) --> watching --change--> trigger --> watching
//          |                        |  \--runtime stopping, or its epoch
//          +--error: log, end       |     is not current: close, end
//                                   +--directory gone: log what to do, end
//
// Guarantees: at most one run is current, and its owner counts every run
// (ConfigWatchState::runs) and gets its exception (logged). A run ends by
// itself when the runtime stops (it wakes at every service state change,
// and a stop changes states), also mid-debounce: nothing is triggered
// then. A run does not retrigger itself: the transaction only reads the
// config file, and the watch looks at that file's name alone (the config
// history may live in the same directory); a write that leaves the file
// holding exactly the running config's bytes (a remote config written
// back after it applied, an editor's save without a change) triggers
// nothing, unless the file on disk was known to differ. A run that ends on
// an error (the directory removed) is not retried in a loop: the next
// reload that applies (or finds the file unchanged) opens the watch again.
#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

#include "reload_impl.hpp"
#include "weft/core/file_watch.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

// The next change, or the watch's error as a value: `a || b` ends at the
// first branch that SUCCEEDS, so a branch that threw would leave the race
// waiting for the other one (here: the runtime's stop).
struct WatchEvent {
  std::optional<FileChange> change;
  std::string error;  // FileWatchError: the watch is closed
};

boost::asio::awaitable<WatchEvent> next_change(FileWatch& watch) {
  WatchEvent out;
  try {
    out.change = co_await watch.changed();
  } catch (const FileWatchError& e) {
    out.error = e.what();
  }
  co_return out;
}

double millis(Duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

void ReloadCoordinator::Impl::follow_watch_config() {
  if (control == nullptr || !running) return;
  Assembly scratch;
  read_weftd_section(running->root(), scratch);
  if (scratch.watch_config) start_watch();
  else stop_watch();
}

void ReloadCoordinator::Impl::start_watch() {
  if (watch.watching || control->stopping()) return;
  const std::uint64_t epoch = ++watch.epoch;
  watch.watching = true;
  ++watch.runs;
  // Owned by the coordinator (watch.runs, watch.watching). A frame left at
  // teardown is destroyed by the runtime's io_context, before the coordinator.
  boost::asio::co_spawn(control->executor(), watch_file(epoch), [this, epoch](std::exception_ptr error) {
    --watch.runs;
    if (watch.epoch == epoch) watch.watching = false;
    if (!error) return;
    spdlog::logger& log = *control->logger("weft");
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log.error("config watch: failed: {}; {} is not watched any more; a reload that applies (`weftctl reload`, "
                "SIGHUP) watches it again",
                e.what(), options.file.string());
    } catch (...) {
      log.error("config watch: failed (unknown exception); {} is not watched any more", options.file.string());
    }
  });
}

void ReloadCoordinator::Impl::stop_watch() {
  if (!watch.watching) return;
  ++watch.epoch;  // the run's epoch is not current any more
  watch.watching = false;
  control->notify_change();  // wakes it (until_watch_ends)
}

boost::asio::awaitable<void> ReloadCoordinator::Impl::until_watch_ends(std::uint64_t epoch) {
  while (!control->stopping() && watch.epoch == epoch)
    co_await control->wait_change(control->clock().now() + std::chrono::hours(1));
}

boost::asio::awaitable<void> ReloadCoordinator::Impl::watch_file(std::uint64_t epoch) {
  spdlog::logger& log = *control->logger("weft");
  const std::string path = options.file.string();
  const FileWatchOptions watch_options;
  TimerQueue& timers = runtime->timers();
  std::optional<FileWatch> file_watch;
  std::string error;
  auto open = [&file_watch, &error, &path, &timers, &watch_options] {
    try {
      file_watch.emplace(FileWatch::open(path, timers, watch_options));
    } catch (const FileWatchError& e) {
      error = e.what();
    }
  };
  co_await control->blocking(open);  // a path lookup: never on the loop
  if (control->stopping() || watch.epoch != epoch) co_return;  // stopped meanwhile: closed with file_watch
  if (!file_watch) {
    log.error("config watch: {}; the config file is not watched (watch_config = true): fix that, then a reload "
              "(`weftctl reload`, SIGHUP) watches it",
              error);
    co_return;
  }
  log.info("config watch: watching {} (watch_config = true): a write or a replace reloads it once the file has been "
           "quiet for {:.0f} ms",
           path, millis(watch_options.debounce));
  for (;;) {
    auto next = co_await (next_change(*file_watch) || until_watch_ends(epoch));
    if (next.index() == 1) {  // the change's wait was cancelled: the watch is closed
      log.info("config watch: stopped watching {} ({})", path,
               control->stopping() ? "weftd is stopping" : "watch_config = false");
      co_return;
    }
    const WatchEvent event = std::get<0>(std::move(next));
    if (!event.change) {
      log.error("config watch: {}; until then the config file is not watched (watch_config = true)", event.error);
      co_return;
    }
    const FileChange& change = *event.change;
    // The running config's bytes again: nothing to reload. Only while no
    // transaction is running or queued (it may apply other bytes), and not
    // when the file was known to differ (a reload then clears that note).
    if (!(runner_active || !queue.empty()) && !file_differs) {
      const std::filesystem::path file = options.file;
      std::optional<std::string> text;
      auto read = [&text, &file] {
        try {
          text = read_config_text(file);
        } catch (const ConfigError&) {  // gone or unreadable: the reload says so
        }
      };
      co_await control->blocking(read);
      if (control->stopping() || watch.epoch != epoch) continue;  // the next wait ends the run
      if (text && *text == running_text && !(runner_active || !queue.empty()) && !file_differs) {
        log.info("config watch: {} was written but holds the running config's bytes: nothing to reload", path);
        continue;
      }
    }
    log.info("config watch: {} changed ({} event{} in {:.0f} ms{}): reloading", path, change.events,
             change.events == 1 ? "" : "s", millis(change.last - change.first),
             change.overflow ? "; the kernel's event queue overflowed" : "");
    if (options.mode.reload != nullptr) options.mode.reload->trigger(ReloadTrigger::watch);
  }
}

}  // namespace weft::apps
