// Proves FileWatch on real inotify events with the debounce on a VirtualClock the test
// advances by hand (the io_context is polled, never run: no wait here can hang): an
// editor's write-temp-and-rename, an in-place write, a burst coalesced into one change
// (and max_delay ending an endless one), other files in the directory ignored, delete
// then recreate, cancellation at its worst moment (inotify has reported, the debounce
// runs) ending the wait at once with the fd closed, a directory that vanishes, clear
// errors, and the watch inside a real Runtime on a service's executor.
#include "weft/core/file_watch.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <variant>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>

#include "support/files.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"
#include "weft/core/timer_queue.hpp"
#include "weft/core/timers.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using weft::FileChange;
using weft::FileWatch;
using weft::FileWatchError;
using weft::FileWatchOptions;
using weft::MonoTime;

namespace {

// A bare loop on the virtual clock: nothing moves unless the test says so.
struct FwLoop {
  weft::VirtualClock clock;
  boost::asio::io_context ioc;
  weft::TimerQueue timers{clock, ioc};
  // As in the runtime (other services, its own work guard): the loop always has work, so
  // poll() runs the reactor even while no call waits, and sees inotify's edges then.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};

  // Runs what is ready, the inotify fd's readiness included (poll() runs the reactor
  // without blocking). Bounded: a loop that keeps finding work is a failure.
  void settle() {
    ioc.restart();
    for (int i = 0; i < 1000; ++i)
      if (ioc.poll() == 0) return;
    FAIL("the loop never went idle");
  }
  // Moves virtual time forward, wakes the timers that are due, runs what they woke.
  void advance(weft::Duration d) {
    settle();
    clock.advance_to(clock.now() + d);
    timers.expire(clock.now());
    settle();
  }
};

// One changed() call in flight, with its outcome and a cancellation signal.
struct FwCall {
  boost::asio::cancellation_signal cancel;
  bool done = false;
  std::optional<FileChange> change;
  std::exception_ptr error;

  void start(FwLoop& loop, FileWatch& watch) {
    boost::asio::co_spawn(loop.ioc, watch.changed(),
                          boost::asio::bind_cancellation_slot(cancel.slot(), [this](std::exception_ptr e, FileChange c) {
                            done = true;
                            error = e;
                            if (!e) change = c;
                          }));
    loop.settle();
  }
};

bool fw_aborted(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& err) {
    return err.code() == boost::asio::error::operation_aborted;
  } catch (...) {
  }
  return false;
}

void fw_write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// The inotify fds this process holds (to prove a closed watch closed its fd).
int fw_inotify_fds() {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(e.path(), ec);
    if (!ec && target.string() == "anon_inode:inotify") ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("file watch sees an editor's write-temp-and-rename as one change after the debounce", "[file_watch]") {
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-vim");
  const std::string file = dir + "/weftd.toml";
  fw_write(file, "a = 1\n");
  FileWatch watch = FileWatch::open(file, loop.timers);
  CHECK(watch.directory() == dir);
  FwCall call;
  call.start(loop, watch);

  fw_write(dir + "/.weftd.toml.swp", "a = 2\n");  // the editor's temp: another name
  loop.advance(1s);
  CHECK_FALSE(call.done);  // the temp alone is nothing
  const MonoTime renamed_at = loop.clock.now();
  fs::rename(dir + "/.weftd.toml.swp", file);
  loop.advance(499ms);
  CHECK_FALSE(call.done);  // the debounce has not ended
  loop.advance(1ms);
  REQUIRE(call.done);
  REQUIRE_FALSE(call.error);
  CHECK(call.change->events == 1);
  CHECK(call.change->first == renamed_at);
  CHECK_FALSE(call.change->overflow);
  fs::remove_all(dir);
}

TEST_CASE("file watch sees a write in place once the writer closed the file", "[file_watch]") {
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-inplace");
  const std::string file = dir + "/weftd.toml";
  fw_write(file, "a = 1\n");
  FileWatch watch = FileWatch::open(file, loop.timers, FileWatchOptions{100ms, 1s});
  FwCall call;
  call.start(loop, watch);

  {
    std::ofstream out(file, std::ios::app);
    out << "b = 2\n" << std::flush;  // written, not yet closed: not a change yet
    loop.advance(10s);
    CHECK_FALSE(call.done);
  }
  loop.advance(99ms);
  CHECK_FALSE(call.done);
  loop.advance(1ms);
  REQUIRE(call.done);
  REQUIRE_FALSE(call.error);
  CHECK(call.change->events == 1);
  fs::remove_all(dir);
}

TEST_CASE("file watch coalesces a burst of writes into one change, and max_delay ends an endless one", "[file_watch]") {
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-burst");
  const std::string file = dir + "/weftd.toml";
  fw_write(file, "a = 0\n");  // exists: each write below is one event (IN_CLOSE_WRITE), no IN_CREATE
  FileWatch watch = FileWatch::open(file, loop.timers, FileWatchOptions{500ms, 5s});

  SECTION("a burst: one change, 500 ms after its last write") {
    FwCall call;
    call.start(loop, watch);
    const MonoTime first = loop.clock.now();
    for (int i = 0; i < 5; ++i) {
      fw_write(file, "a = " + std::to_string(i) + "\n");
      loop.advance(400ms);
      REQUIRE_FALSE(call.done);
    }
    loop.advance(99ms);  // 499 ms after the last write
    CHECK_FALSE(call.done);
    loop.advance(1ms);
    REQUIRE(call.done);
    REQUIRE_FALSE(call.error);
    CHECK(call.change->events == 5);
    CHECK(call.change->first == first);
    CHECK(call.change->last == first + 1600ms);

    FwCall next;  // nothing left over: the burst was reported once
    next.start(loop, watch);
    loop.advance(30s);
    CHECK_FALSE(next.done);
    next.cancel.emit(boost::asio::cancellation_type::terminal);
    loop.settle();
    CHECK(next.done);
  }
  SECTION("writes that never pause: reported max_delay after the first") {
    FwCall call;
    call.start(loop, watch);
    const MonoTime first = loop.clock.now();
    int writes = 0;
    while (!call.done && writes < 200) {
      fw_write(file, "a = " + std::to_string(writes++) + "\n");
      loop.advance(100ms);
    }
    REQUIRE(call.done);
    REQUIRE_FALSE(call.error);
    CHECK(loop.clock.now() - first == 5s);
    CHECK(call.change->events == 50);
  }
  SECTION("events between two calls are reported by the next call") {
    fw_write(file, "a = 1\n");  // no call in flight yet
    loop.advance(10s);
    FwCall call;
    call.start(loop, watch);
    loop.advance(500ms);
    REQUIRE(call.done);
    REQUIRE_FALSE(call.error);
    CHECK(call.change->events == 1);
    // Now the fd is known to the reactor (edge-triggered epoll): a write while no call
    // waits is seen by the loop with nobody to tell. The next call must still find it,
    // as it will after a reload that took a while.
    fw_write(file, "a = 2\n");
    loop.advance(10s);
    FwCall next;
    next.start(loop, watch);
    loop.advance(500ms);
    REQUIRE(next.done);
    REQUIRE_FALSE(next.error);
    CHECK(next.change->events == 1);
  }
  SECTION("a write while the debounce timer fires is part of the burst, not a second change") {
    FwCall call;
    call.start(loop, watch);
    fw_write(file, "a = 1\n");
    loop.advance(100ms);
    REQUIRE_FALSE(call.done);
    // At the deadline, before the loop runs the expiry: a last write.
    loop.clock.advance_to(loop.clock.now() + 400ms);
    fw_write(file, "a = 2\n");
    loop.timers.expire(loop.clock.now());
    loop.settle();
    CHECK_FALSE(call.done);  // the burst goes on: 500 ms after that write
    loop.advance(500ms);
    REQUIRE(call.done);
    CHECK(call.change->events == 2);
    FwCall next;
    next.start(loop, watch);
    loop.advance(30s);
    CHECK_FALSE(next.done);  // nothing left for a second change
    next.cancel.emit(boost::asio::cancellation_type::terminal);
    loop.settle();
  }
  fs::remove_all(dir);
}

TEST_CASE("file watch ignores other files in the same directory", "[file_watch]") {
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-other");
  const std::string file = dir + "/weftd.toml";
  fw_write(file, "a = 1\n");
  FileWatch watch = FileWatch::open(file, loop.timers);
  FwCall call;
  call.start(loop, watch);

  fw_write(dir + "/weftd.toml.bak", "x\n");  // a name that starts like ours
  fw_write(dir + "/other.toml", "x\n");
  fs::rename(dir + "/other.toml", dir + "/other2.toml");
  fs::remove(dir + "/other2.toml");
  fs::create_directory(dir + "/sub");
  fw_write(dir + "/sub/weftd.toml", "x\n");  // our name, another directory
  loop.advance(30s);
  CHECK_FALSE(call.done);

  fw_write(file, "a = 2\n");  // the watch is alive: our own file is seen
  loop.advance(500ms);
  REQUIRE(call.done);
  REQUIRE_FALSE(call.error);
  CHECK(call.change->events == 1);
  fs::remove_all(dir);
}

TEST_CASE("file watch: a file deleted is no change until it is back", "[file_watch]") {
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-delete");
  const std::string file = dir + "/weftd.toml";
  fw_write(file, "a = 1\n");
  FileWatch watch = FileWatch::open(file, loop.timers);
  FwCall call;
  call.start(loop, watch);

  SECTION("deleted and recreated within the debounce: one change") {
    fs::remove(file);
    loop.advance(200ms);
    fw_write(file, "a = 2\n");
    loop.advance(499ms);
    CHECK_FALSE(call.done);
    loop.advance(1ms);
    REQUIRE(call.done);
    REQUIRE_FALSE(call.error);
    CHECK(call.change->events >= 2);  // IN_DELETE, IN_CREATE, IN_CLOSE_WRITE
  }
  SECTION("deleted, and back much later: one change, when it is back") {
    fs::remove(file);
    loop.advance(60s);
    CHECK_FALSE(call.done);
    fw_write(dir + "/weftd.toml.tmp", "a = 3\n");
    fs::rename(dir + "/weftd.toml.tmp", file);
    const MonoTime back = loop.clock.now();
    loop.advance(500ms);
    REQUIRE(call.done);
    REQUIRE_FALSE(call.error);
    CHECK(call.change->events == 1);  // the deletion's burst ended unreported
    CHECK(call.change->first == back);
  }
  fs::remove_all(dir);
}

TEST_CASE("file watch: cancelled after inotify reported, before the debounce ended, it ends at once and closes its fd",
          "[file_watch]") {
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-cancel");
  const std::string file = dir + "/weftd.toml";
  const int before = fw_inotify_fds();
  FileWatch watch = FileWatch::open(file, loop.timers);
  CHECK(fw_inotify_fds() == before + 1);
  FwCall call;
  call.start(loop, watch);

  SECTION("mid-debounce") {
    fw_write(file, "a = 1\n");
    loop.advance(250ms);  // the event was read: the debounce runs
    REQUIRE_FALSE(call.done);
    REQUIRE(loop.timers.size() == 1);  // the debounce's deadline is queued
  }
  SECTION("idle, waiting for inotify") {}

  const MonoTime cancelled_at = loop.clock.now();
  call.cancel.emit(boost::asio::cancellation_type::terminal);
  loop.settle();  // no time passes
  REQUIRE(call.done);
  CHECK(fw_aborted(call.error));
  CHECK(loop.clock.now() == cancelled_at);
  CHECK(loop.timers.size() == 0);  // nothing left queued
  CHECK_FALSE(watch.is_open());
  CHECK(fw_inotify_fds() == before);

  FwCall again;  // a closed watch says so
  again.start(loop, watch);
  REQUIRE(again.done);
  REQUIRE(again.error);
  try {
    std::rethrow_exception(again.error);
  } catch (const FileWatchError& e) {
    CHECK(weft::test::contains(e.what(), "is closed"));
  }
  fs::remove_all(dir);
}

TEST_CASE("file watch raced against a timer: the timer wins, the wait ends and the watch closes", "[file_watch]") {
  using namespace boost::asio::experimental::awaitable_operators;
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-race");
  const std::string file = dir + "/weftd.toml";
  FileWatch watch = FileWatch::open(file, loop.timers);
  bool done = false;
  std::size_t winner = 99;
  auto race = [&]() -> boost::asio::awaitable<void> {
    auto r = co_await (watch.changed() || weft::expires_at(loop.timers, loop.clock.now() + 2s));
    winner = r.index();
  };
  fw_write(file, "a = 1\n");  // mid-debounce when the timer wins: the worst moment again
  boost::asio::co_spawn(loop.ioc, race(), [&](std::exception_ptr e) {
    done = true;
    CHECK_FALSE(e);
  });
  loop.settle();
  loop.advance(300ms);
  CHECK_FALSE(done);
  fw_write(file, "a = 2\n");
  loop.advance(1700ms);  // 2 s: the timer ends it; the debounce would end at 2.3 s
  REQUIRE(done);
  CHECK(winner == 1);
  CHECK_FALSE(watch.is_open());
  fs::remove_all(dir);
}

TEST_CASE("file watch ends with a clear error when its directory is removed", "[file_watch]") {
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-dirgone");
  const std::string file = dir + "/weftd.toml";
  fw_write(file, "a = 1\n");
  FileWatch watch = FileWatch::open(file, loop.timers);
  FwCall call;
  call.start(loop, watch);
  fs::remove_all(dir);
  loop.advance(1s);
  REQUIRE(call.done);
  REQUIRE(call.error);
  try {
    std::rethrow_exception(call.error);
  } catch (const FileWatchError& e) {
    CHECK(weft::test::contains(e.what(), "its directory " + dir + " was removed, moved or unmounted"));
  }
  CHECK_FALSE(watch.is_open());  // ended: a later call says so instead of waiting for nothing
}

TEST_CASE("file watch open says what is wrong and what to do", "[file_watch]") {
  FwLoop loop;
  const std::string dir = weft::test::temp_dir("weft-fw-errors");
  try {
    (void)FileWatch::open(dir + "/missing/weftd.toml", loop.timers);
    FAIL("a missing directory was watched");
  } catch (const FileWatchError& e) {
    CHECK(std::string(e.what()) == "cannot watch " + dir + "/missing/weftd.toml for changes (inotify_add_watch): its directory " +
                                       dir + "/missing does not exist; create it or fix the config file's path");
  }
  fw_write(dir + "/plain", "x");
  CHECK_THROWS_WITH(FileWatch::open(dir + "/plain/weftd.toml", loop.timers), Catch::Contains("is not a directory"));
  CHECK_THROWS_WITH(FileWatch::open(dir + "/", loop.timers), Catch::Contains("does not name a file"));

  // The limits, which a test cannot reach without exhausting the machine's: as text.
  const std::string instances = weft::file_watch_error_message(EMFILE, "inotify_init1", "/etc/weft/weftd.toml", "/etc/weft");
  CHECK(weft::test::contains(instances, "fs.inotify.max_user_instances"));
  CHECK(weft::test::contains(instances, "watch_config = false"));
  const std::string watches = weft::file_watch_error_message(ENOSPC, "inotify_add_watch", "/etc/weft/weftd.toml", "/etc/weft");
  CHECK(weft::test::contains(watches, "cannot watch /etc/weft/weftd.toml for changes (inotify_add_watch): "));
  CHECK(weft::test::contains(watches, "sysctl fs.inotify.max_user_watches="));
  fs::remove_all(dir);
}

TEST_CASE("file watch in a real runtime: opened on the blocking pool, awaited on a service's executor", "[file_watch]") {
  weft::RuntimeOptions options;
  options.handle_signals = false;
  weft::Runtime runtime(options);
  const std::string dir = weft::test::temp_dir("weft-fw-runtime");
  const std::string file = dir + "/weftd.toml";
  std::optional<FileChange> seen;
  std::string error;
  runtime.add(weft::coroutine_service("watcher", {}, {}, [&](weft::Context& ctx) -> boost::asio::awaitable<void> {
    using namespace boost::asio::experimental::awaitable_operators;
    auto open = [&] { return FileWatch::open(file, ctx.timers(), FileWatchOptions{50ms, 1s}); };
    FileWatch watch = co_await ctx.blocking_result(open);
    ctx.ready();
    auto write = [&] {
      fw_write(dir + "/t", "a = 1\n");
      fs::rename(dir + "/t", file);
    };
    co_await ctx.blocking(write);
    try {
      auto r = co_await (watch.changed() || ctx.sleep(20s));  // bounded
      if (r.index() == 0) seen = std::get<0>(r);
    } catch (const std::exception& e) {
      error = e.what();
    }
    runtime.request_stop();
  }));
  runtime.stop_after(30s);
  CHECK(runtime.run() == weft::kExitOk);
  CHECK(error.empty());
  REQUIRE(seen);
  CHECK(seen->events == 1);
  CHECK(seen->last - seen->first < 1s);
  fs::remove_all(dir);
}
