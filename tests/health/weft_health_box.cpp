// weft-health-box: weftd's run path (config, [weftd] health keys, data-dir
// lock, crash handlers, systemd notify) plus services that exist only in
// this test binary, so no crash button ships in weftd:
//   --test sleeper        sleeps for an hour (a known await site for dumps)
//   --test busy=DUR       once, after 200 ms, holds the loop for DUR
//   --test busy=DUR@AFTER once, after AFTER, holds the loop for DUR (a stall
//                         well after start: the update test's settle window)
//   --test hang=AFTER     after AFTER, sends STATUS=test: hanging now, then spins forever
//   --test hangfree=AFTER keeps a dump section over state that is valid only
//                         between its slices; after AFTER it frees that state
//                         and hangs the loop (a dump must not call the section
//                         from another thread: it would crash)
//   --test crash=AFTER    after AFTER, dereferences a null pointer (SIGSEGV)
//   --test throw=AFTER    after AFTER, throws out of a loop handler (std::terminate)
//   --test memhog=AFTER   memory_limit 256 KiB; its first run, after AFTER,
//                         allocates 4 KiB blocks until std::bad_alloc, which it
//                         does not catch (the run fails, the supervisor restarts
//                         it); later runs idle. Each run logs "run N".
//   --test memhog_stop=AFTER  the same, but at the refusal it sends itself
//                         SIGTERM before rethrowing: the stop lands in the
//                         slice of the failing allocation
// Exit status as weftd's.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/post.hpp>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/context.hpp"
#include "weft/core/data_dir_lock.hpp"
#include "weft/core/dump.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/systemd_notify.hpp"

namespace {

using boost::asio::awaitable;
using weft::Context;
using weft::Duration;

Duration parse_duration(const std::string& text) {
  const auto doc = weft::Config::parse("d = \"" + text + "\"", "--test");
  return doc.root().duration("d", Duration::zero(), Duration::zero());
}

void spin_for(Duration d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

awaitable<void> sleeper(Context& ctx) {
  ctx.ready();
  for (;;) co_await ctx.sleep(std::chrono::hours(1));
}

awaitable<void> busy(Context& ctx, Duration d, Duration after) {
  ctx.ready();
  co_await ctx.sleep(after);
  ctx.log().info("holding the loop for {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  spin_for(d);
  for (;;) co_await ctx.sleep(std::chrono::hours(1));
}

awaitable<void> hang(Context& ctx, Duration after) {
  ctx.ready();
  co_await ctx.sleep(after);
  weft::systemd::notify("STATUS=test: hanging now");  // a marker the test's notify socket sees in order
  for (;;) spin_for(std::chrono::seconds(1));
}

// noipa: the compiler must not see the null and turn the store into a trap (SIGILL).
// no_sanitize_undefined: the null store is the point (a real SIGSEGV); UBSan would stop it first.
[[gnu::noipa, gnu::no_sanitize_undefined]] void crash_now(volatile int* target) { *target = 42; }

awaitable<void> hang_after_free(Context& ctx, Duration after) {
  auto scratch = std::make_unique<std::string>("scratch state of hangfree");
  const std::thread::id loop = std::this_thread::get_id();
  const weft::DumpSectionHandle section = ctx.add_dump_section("scratch", [&scratch, loop] {
    // Stands for any producer that reads state owned by its service's
    // slices; freed state read from another thread is a crash, made certain.
    if (!scratch) crash_now(nullptr);
    const bool on_loop = std::this_thread::get_id() == loop;
    return *scratch + (on_loop ? " (rendered on the loop thread)\n" : " (rendered OFF the loop thread)\n");
  });
  ctx.ready();
  co_await ctx.sleep(after);
  weft::systemd::notify("STATUS=test: hanging now");
  scratch.reset();  // the loop owns it: no dump may read it until this slice ends
  for (;;) spin_for(std::chrono::seconds(1));
}

awaitable<void> crash(Context& ctx, Duration after) {
  ctx.ready();
  co_await ctx.sleep(after);
  ctx.log().info("dereferencing a null pointer");
  weft::logging::flush();
  volatile int* volatile null = nullptr;
  crash_now(null);
  for (;;) co_await ctx.sleep(std::chrono::hours(1));
}

[[gnu::noipa]] void throw_now() { throw std::runtime_error("deliberate test exception"); }

awaitable<void> thrower(Context& ctx, Duration after) {
  ctx.ready();
  co_await ctx.sleep(after);
  weft::logging::flush();
  boost::asio::post(ctx.executor(), [] { throw_now(); });  // escapes the loop: nobody catches it
  for (;;) co_await ctx.sleep(std::chrono::hours(1));
}

constexpr std::uint64_t kMemhogLimit = 256 * 1024;
int g_memhog_runs = 0;

awaitable<void> memhog(Context& ctx, Duration after, bool stop_at_refusal) {
  const int run = ++g_memhog_runs;
  ctx.log().info("run {}", run);
  ctx.ready();
  if (run == 1) {
    co_await ctx.sleep(after);
    std::vector<std::unique_ptr<char[]>> kept;
    kept.reserve(1024);
    try {
      for (;;) {
        kept.emplace_back(new char[4096]);
        std::memset(kept.back().get(), 1, 4096);  // really used
      }
    } catch (const std::bad_alloc&) {
      if (stop_at_refusal) ::kill(::getpid(), SIGTERM);
      throw;
    }
  }
  for (;;) co_await ctx.sleep(std::chrono::hours(1));
}

weft::ServiceSpec test_service(const std::string& arg) {
  const auto eq = arg.find('=');
  const std::string name = arg.substr(0, eq);
  const Duration d = eq == std::string::npos || name == "busy" ? Duration::zero() : parse_duration(arg.substr(eq + 1));
  auto make = [&](auto body) {
    return weft::coroutine_service(name, {}, {}, [body, d](Context& ctx) { return body(ctx, d); });
  };
  if (name == "sleeper") return weft::coroutine_service(name, {}, {}, sleeper);
  if (name == "busy") {
    const std::string value = eq == std::string::npos ? std::string() : arg.substr(eq + 1);
    const auto at = value.find('@');
    const Duration hold = parse_duration(value.substr(0, at));
    const Duration after = at == std::string::npos ? std::chrono::milliseconds(200) : parse_duration(value.substr(at + 1));
    return weft::coroutine_service(name, {}, {}, [hold, after](Context& ctx) { return busy(ctx, hold, after); });
  }
  if (name == "hang") return make(hang);
  if (name == "hangfree") return make(hang_after_free);
  if (name == "crash") return make(crash);
  if (name == "throw") return make(thrower);
  if (name == "memhog" || name == "memhog_stop") {
    const bool stop = name == "memhog_stop";
    weft::ServiceSpec spec =
        weft::coroutine_service("memhog", {}, {}, [d, stop](Context& ctx) { return memhog(ctx, d, stop); });
    spec.memory_limit = kMemhogLimit;
    return spec;
  }
  throw std::invalid_argument("--test " + arg +
                              ": unknown test service (sleeper, busy, hang, hangfree, crash, throw, memhog, memhog_stop)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-health-box: weftd's run path with test-only services"};
  std::string config, run_for;
  std::vector<std::string> tests;
  app.add_option("-c,--config", config, "config file")->required()->check(CLI::ExistingFile);
  app.add_option("--test", tests, "a test-only service: sleeper, busy=DUR[@AFTER], hang=AFTER, hangfree=AFTER, crash=AFTER, throw=AFTER, memhog=AFTER, memhog_stop=AFTER");
  app.add_option("--for", run_for, "stop after this long");
  CLI11_PARSE(app, argc, argv);
  try {
    auto assembly = weft::apps::assemble(weft::Config::load_file(config));
    weft::logging::set_default_level(*weft::logging::parse_level(assembly.log_level));
    weft::Runtime runtime(assembly.options);
    weft::apps::add_services(runtime, assembly);
    for (const auto& t : tests) runtime.add(test_service(t));
    if (!run_for.empty()) runtime.stop_after(parse_duration(run_for));
    const int code = runtime.run();
    weft::logging::flush();
    return code;
  } catch (const weft::ConfigError& e) {
    weft::logging::write_stderr(std::string("weft-health-box: ") + e.what() + "\n");
    return weft::kExitUsage;
  } catch (const std::invalid_argument& e) {  // a bad --test
    weft::logging::write_stderr(std::string("weft-health-box: ") + e.what() + "\n");
    return weft::kExitUsage;
  } catch (const weft::DataDirBusyError& e) {
    weft::logging::flush();
    weft::logging::write_stderr(std::string("weft-health-box: ") + e.what() + "\n");
    return weft::kExitDataDirBusy;
  }
}
