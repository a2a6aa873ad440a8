// The console command registry: registration lifetime, lookup of one- and
// two-word names, owners, calls in progress when a registration goes away,
// cancellation, streaming output, and command-line splitting.
#include "weft/core/commands.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace asio = boost::asio;
using namespace weft;

namespace {

Command simple(std::string name, std::string text = "ok\n") {
  return Command{name, name + " ARG", "does " + name,
                 [text](const CommandArgs& args) -> asio::awaitable<CommandReply> {
                   std::string out = text;
                   for (const auto& a : args) out += a + ";";
                   co_return CommandReply{true, out, {}};
                 }};
}

// Runs `body` as a coroutine on `ioc` to completion; rethrows what it threw.
template <typename F>
void run_coroutine(asio::io_context& ioc, F body) {
  std::exception_ptr failed;
  bool done = false;
  asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
    failed = e;
    done = true;
  });
  ioc.run_for(std::chrono::seconds(10));
  REQUIRE(done);
  if (failed) std::rethrow_exception(failed);
}

// GCC 12 rejects string literals inside a coroutine lambda's co_await
// expression ("array used as initializer"): names and arguments are built
// outside the coroutine and captured.
const struct { std::string name; CommandArgs args; } k_frames_0{"frames", CommandArgs{"x"}};
const struct { std::string name; CommandArgs args; } k_echo_1{"echo", CommandArgs{"a", "b c"}};
const struct { std::string name; CommandArgs args; } k_nope_2{"nope", CommandArgs{}};
const struct { std::string name; CommandArgs args; } k_boom_3{"boom", CommandArgs{}};
const struct { std::string name; CommandArgs args; } k_slow_4{"slow", CommandArgs{}};
const struct { std::string name; CommandArgs args; } k_count_5{"count", CommandArgs{"3"}};
const struct { std::string name; CommandArgs args; } k_count_6{"count", CommandArgs{"1"}};

struct Collect final : CommandOutput {
  std::vector<std::string> chunks;
  bool accept = true;
  bool write(std::string_view chunk) override {
    chunks.emplace_back(chunk);
    return accept;
  }
  bool json() const noexcept override { return false; }
};

}  // namespace

TEST_CASE("commands: registration adds, destruction removes, moves transfer", "[commands]") {
  asio::io_context ioc;
  Commands commands(ioc.get_executor());
  {
    CommandRegistration a = commands.add(simple("alpha"));
    REQUIRE(commands.find("alpha") != nullptr);
    CommandRegistration moved = std::move(a);
    CHECK_FALSE(a.active());
    CHECK(moved.active());
    REQUIRE(commands.find("alpha") != nullptr);
  }
  CHECK(commands.find("alpha") == nullptr);
  CHECK(commands.size() == 0);

  CommandRegistration r = commands.add(simple("beta"));
  r.reset();
  CHECK(commands.find("beta") == nullptr);
}

TEST_CASE("commands: lookup prefers the two-word name and says how many words it took", "[commands]") {
  asio::io_context ioc;
  Commands commands(ioc.get_executor());
  auto log = commands.add(simple("log"));
  auto tail = commands.add(simple("log tail"));
  std::size_t consumed = 0;
  const Command* c = commands.lookup({"log", "tail", "gather"}, &consumed);
  REQUIRE(c != nullptr);
  CHECK(c->name == "log tail");
  CHECK(consumed == 2);
  c = commands.lookup({"log", "other"}, &consumed);
  REQUIRE(c != nullptr);
  CHECK(c->name == "log");
  CHECK(consumed == 1);
  CHECK(commands.lookup({"nope"}) == nullptr);
  CHECK(commands.lookup({}) == nullptr);
  const auto list = commands.list();
  REQUIRE(list.size() == 2);
  CHECK(list[0].command->name == "log");
  CHECK(list[1].command->name == "log tail");
  CHECK(list[0].owner == "weft");
}

TEST_CASE("commands: bad names, missing handlers and another owner's name are rejected", "[commands]") {
  asio::io_context ioc;
  Commands commands(ioc.get_executor());
  CHECK_THROWS_AS(commands.add(simple("")), std::invalid_argument);
  CHECK_THROWS_AS(commands.add(simple("Upper")), std::invalid_argument);
  CHECK_THROWS_AS(commands.add(simple("three word name")), std::invalid_argument);
  CHECK_THROWS_AS(commands.add(Command{"empty", "empty", "no handler", {}}), std::invalid_argument);
  auto frames = commands.add(simple("frames"), "gather");
  CHECK_THROWS_WITH(commands.add(simple("frames"), "record"), Catch::Contains("already registered by 'gather'"));
}

TEST_CASE("commands: the same owner registering again replaces, the old handle then removes nothing", "[commands]") {
  asio::io_context ioc;
  Commands commands(ioc.get_executor());
  auto old_run = commands.add(simple("frames", "old\n"), "gather");
  auto new_run = commands.add(simple("frames", "new\n"), "gather");
  old_run.reset();  // e.g. the abandoned run's frame finally goes
  REQUIRE(commands.find("frames") != nullptr);
  CommandReply r;
  run_coroutine(ioc, [&]() -> asio::awaitable<void> { r = co_await commands.run(k_frames_0.name, k_frames_0.args); });
  CHECK(r.text == "new\nx;");
}

TEST_CASE("commands: run passes arguments, unknown names and throwing handlers are failed replies", "[commands]") {
  asio::io_context ioc;
  Commands commands(ioc.get_executor());
  auto echo = commands.add(simple("echo"));
  auto boom = commands.add(Command{"boom", "boom", "throws", [](const CommandArgs&) -> asio::awaitable<CommandReply> {
                                     throw std::runtime_error("kaput");
                                     co_return CommandReply{};
                                   }});
  CommandReply echoed, unknown, failed;
  run_coroutine(ioc, [&]() -> asio::awaitable<void> {
    echoed = co_await commands.run(k_echo_1.name, k_echo_1.args);
    unknown = co_await commands.run(k_nope_2.name, k_nope_2.args);
    failed = co_await commands.run(k_boom_3.name, k_boom_3.args);
  });
  CHECK(echoed.ok);
  CHECK(echoed.text == "ok\na;b c;");
  CHECK_FALSE(unknown.ok);
  CHECK(unknown.text == "unknown command 'nope'\n");
  CHECK_FALSE(failed.ok);
  CHECK(failed.text == "error: kaput\n");
}

TEST_CASE("commands: a call in progress ends when its registration goes away", "[commands]") {
  asio::io_context ioc;
  Commands commands(ioc.get_executor());
  bool handler_resumed_normally = false;
  CommandRegistration slow;
  slow = commands.add(Command{"slow", "slow", "waits", [&](const CommandArgs&) -> asio::awaitable<CommandReply> {
                                     // Its service stops while the call waits.
                                     asio::post(ioc, [&] { slow.reset(); });
                                     asio::steady_timer t(co_await asio::this_coro::executor);
                                     t.expires_after(std::chrono::hours(1));
                                     co_await t.async_wait(asio::use_awaitable);
                                     handler_resumed_normally = true;
                                     co_return CommandReply{};
                                   }});
  bool aborted = false;
  std::string what;
  run_coroutine(ioc, [&]() -> asio::awaitable<void> {
    try {
      co_await commands.run(k_slow_4.name, k_slow_4.args);
    } catch (const boost::system::system_error& e) {
      aborted = e.code() == asio::error::operation_aborted;
      what = e.what();
    }
  });
  CHECK(aborted);
  CHECK_THAT(what, Catch::Contains("was removed"));
  CHECK_FALSE(handler_resumed_normally);
}

TEST_CASE("commands: cancelling the caller cancels the handler (op || timer)", "[commands]") {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context ioc;
  Commands commands(ioc.get_executor());
  auto slow = commands.add(Command{"slow", "slow", "waits", [](const CommandArgs&) -> asio::awaitable<CommandReply> {
                                     asio::steady_timer t(co_await asio::this_coro::executor);
                                     t.expires_after(std::chrono::hours(1));
                                     co_await t.async_wait(asio::use_awaitable);
                                     co_return CommandReply{true, "late", {}};
                                   }});
  std::size_t winner = 99;
  run_coroutine(ioc, [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(1));
    auto result = co_await (commands.run(k_slow_4.name, k_slow_4.args) || timer.async_wait(asio::use_awaitable));
    winner = result.index();
  });
  CHECK(winner == 1);
  CHECK(commands.find("slow") != nullptr);  // the registration is untouched
}

TEST_CASE("commands: a stream writes chunks to its output and returns its last frame", "[commands]") {
  asio::io_context ioc;
  Commands commands(ioc.get_executor());
  Command c{"count", "count N", "counts", {}};
  c.stream = [](const CommandArgs& args, CommandOutput& out) -> asio::awaitable<CommandReply> {
    const int n = std::stoi(args.at(0));
    for (int i = 0; i < n; ++i)
      if (!out.write(std::to_string(i) + "\n")) co_return CommandReply{false, "client gone\n", {}};
    co_return CommandReply{true, "done\n", {}};
  };
  auto reg = commands.add(std::move(c));
  Collect out;
  CommandReply first, refused;
  std::vector<std::string> chunks;
  bool threw = false;
  run_coroutine(ioc, [&]() -> asio::awaitable<void> {
    first = co_await commands.run(k_count_5.name, k_count_5.args, &out);
    chunks = out.chunks;
    out.accept = false;
    refused = co_await commands.run(k_count_5.name, k_count_5.args, &out);
    // A stream without an output is the caller's bug: a logic_error.
    try {
      co_await commands.run(k_count_6.name, k_count_6.args, nullptr);
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  CHECK(first.text == "done\n");
  CHECK(chunks == std::vector<std::string>{"0\n", "1\n", "2\n"});
  CHECK_FALSE(refused.ok);
  CHECK(threw);
}

TEST_CASE("commands: command lines split on blanks, with quotes and escapes", "[commands]") {
  std::vector<std::string> words;
  std::string error;
  REQUIRE(split_command_line("  points   box.* ", words, error));
  CHECK(words == std::vector<std::string>{"points", "box.*"});
  REQUIRE(split_command_line(R"(read "a b" "q\"x" "")", words, error));
  CHECK(words == std::vector<std::string>{"read", "a b", "q\"x", ""});
  REQUIRE(split_command_line("", words, error));
  CHECK(words.empty());
  CHECK_FALSE(split_command_line(R"(read "open)", words, error));
  CHECK(error == "unterminated quote");
}
