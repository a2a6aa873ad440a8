// Dumps: every service with state and await site, bus queue depths, dump
// sections (until their handle goes), a SIGUSR1 dump written to
// <data_dir>/dumps, and the console's dump/loop/crashes commands.
#include "weft/core/dump.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/virtual_runtime.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "support/files.hpp"

using namespace std::chrono_literals;
using boost::asio::awaitable;
using weft::Context;

namespace {

}  // namespace

TEST_CASE("a dump lists every service, await sites, bus queues and sections", "[dump]") {
  weft::Runtime runtime(weft::test::virtual_options());
  std::uint32_t sleeper_line = 0;
  std::string text, text_after_section;
  runtime.add(weft::coroutine_service("sleeper", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    sleeper_line = __LINE__; co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("hoarder", {}, {}, [&](Context& ctx) -> awaitable<void> {
    weft::Subscription sub = ctx.subscribe("x.*", 8);  // never reads
    weft::DumpSectionHandle section = ctx.add_dump_section("recorder", [] { return "frame 1\nframe 2\n"; });
    ctx.ready();
    co_await ctx.sleep(200ms);
    section.reset();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("driver", {"sleeper", "hoarder"}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (int i = 0; i < 3; ++i) ctx.publish("x.a", i);
    co_await ctx.sleep(100ms);
    text = runtime.dump_text("test");
    co_await ctx.sleep(200ms);
    text_after_section = runtime.dump_text("test");
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  INFO(text);
  CHECK(weft::test::contains(text, "=== weft dump (test) at 2026-01-01T00:00:00Z"));
  CHECK(weft::test::contains(text, "services (3):"));
  CHECK(weft::test::contains(text, "  sleeper: running, ready since 10"));  // 100 ms and the sleep's slack
  CHECK(weft::test::contains(text, " ms, restarts 0\n"));
  CHECK(weft::test::contains(text, "    waiting: sleep at "));
  CHECK(weft::test::contains(text, "dump_test.cpp:" + std::to_string(sleeper_line) + " for 10"));
  CHECK(weft::test::contains(text, "  hoarder: running, ready"));
  CHECK(weft::test::contains(text, "  driver: running, ready"));
  CHECK(weft::test::contains(text, "    loop time "));
  CHECK(weft::test::contains(text, "allocations "));
  CHECK(weft::test::contains(text, "  hoarder 'x.*': depth 3/8, dropped 0\n"));
  CHECK(weft::test::contains(text, "--- hoarder: recorder ---\nframe 1\nframe 2\n"));
  CHECK(weft::test::contains(text, "=== end of dump ===\n"));
  CHECK_FALSE(weft::test::contains(text_after_section, "recorder"));  // its handle is gone
}

TEST_CASE("a section that throws does not spoil the dump", "[dump]") {
  weft::DumpSections sections;
  auto ok = sections.add("ok", [] { return std::string("fine\n"); });
  auto bad = sections.add("bad", []() -> std::string { throw std::runtime_error("port gone"); });
  const auto rendered = sections.render();
  REQUIRE(rendered.size() == 2);
  CHECK(rendered[0].second == "fine\n");
  CHECK(rendered[1].second == "(section failed: port gone)\n");
  bad.reset();
  CHECK(sections.size() == 1);
}

TEST_CASE("SIGUSR1 writes a dump with every service and a sleeping one's await site", "[dump]") {
  const std::string dir = weft::test::temp_dir("weft-dump");
  weft::RuntimeOptions options;
  options.handle_signals = true;  // SIGUSR1 through the runtime's signal set
  options.data_dir = dir;
  weft::Runtime runtime(options);
  std::uint32_t sleeper_line = 0;
  std::string dump;
  runtime.add(weft::coroutine_service("sleeper", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    sleeper_line = __LINE__; co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("signaller", {"sleeper"}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(10ms);
    ::kill(::getpid(), SIGUSR1);
    for (int i = 0; i < 500 && dump.empty(); ++i) {  // bounded: 5 s
      co_await ctx.sleep(10ms);
      std::error_code ec;
      for (std::filesystem::directory_iterator it(dir + "/dumps", ec), end; !ec && it != end; it.increment(ec))
        dump = weft::test::read_file(it->path());
    }
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  INFO(dump);
  REQUIRE_FALSE(dump.empty());
  CHECK(weft::test::contains(dump, "=== weft dump (SIGUSR1)"));
  CHECK(weft::test::contains(dump, "  sleeper: running, ready"));
  CHECK(weft::test::contains(dump, "  signaller: running, ready"));
  CHECK(weft::test::contains(dump, "dump_test.cpp:" + std::to_string(sleeper_line) + " for "));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the console's loop, dump and crashes commands", "[dump]") {
  const std::string dir = weft::test::temp_dir("weft-dump");
  weft::RuntimeOptions options = weft::test::virtual_options();
  options.data_dir = dir;
  weft::Runtime runtime(options);
  weft::CommandReply loop, dump, crashes;
  std::string loop_help;
  runtime.add(weft::coroutine_service("asker", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(10ms);
    if (const weft::Command* c = runtime.commands().find("loop")) loop_help = c->help;
    loop = co_await runtime.commands().run("loop", {});
    dump = co_await runtime.commands().run("dump", {});
    crashes = co_await runtime.commands().run("crashes", {});
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  CHECK(weft::test::contains(loop_help, "loop lag"));
  CHECK(loop.ok);
  CHECK(weft::test::contains(loop.text, "loop lag (probe every"));
  CHECK(weft::test::contains(loop.text, "stalls (loop held > 100.0 ms; hang at 5.000 s): 0"));
  INFO(dump.text);
  CHECK(dump.ok);
  CHECK(weft::test::contains(dump.text, "dump written to " + dir + "/dumps/"));
  CHECK(weft::test::contains(dump.text, "  asker: running, ready"));
  CHECK(crashes.text == "no crash reports in " + dir + "/crash\n");
  std::filesystem::remove_all(dir);
}
