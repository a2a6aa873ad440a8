// Slice budgets ([service.NAME] slice_budget, ServiceSpec::slice_budget):
// a slice over the budget is counted with the wait it resumed from; the
// log says so once per episode (the first slice over, then one line when
// a whole clock-check period passed without one), not once per slice; a
// service without a budget is never reported; the config key is checked.
// Virtual clock: the episodes are separated by virtual seconds; the slices
// themselves spin in real time (slices are measured on the real clock).
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "support/virtual_runtime.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/core/config.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/service.hpp"

using namespace std::chrono_literals;

namespace weft {
namespace {

void spin_for(std::chrono::steady_clock::duration d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

int count_lines(std::uint64_t after, const std::string& logger, spdlog::level::level_enum level,
                const std::string& text) {
  int n = 0;
  for (const auto& line : logging::recent_lines(after, 1000, logger))
    if (line.level == level && line.text.find(text) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("slice budget: slices over it are counted, each episode logged once", "[slice_budget]") {
  logging::flush();
  const std::uint64_t before = logging::last_line_seq();
  Runtime runtime(test::virtual_options());
  ServiceSpec spec = coroutine_service("budgeted", {}, {}, [&](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    for (int i = 0; i < 3; ++i) {  // episode 1: three long slices 10 ms apart
      co_await ctx.sleep(10ms);
      spin_for(3ms);
    }
    co_await ctx.sleep(5s);  // five clock checks with none: the episode ends
    for (int i = 0; i < 2; ++i) {  // episode 2
      co_await ctx.sleep(10ms);
      spin_for(3ms);
    }
    co_await ctx.sleep(5s);
    runtime.request_stop();
    co_await ctx.sleep(1h);  // until the stop lands
  });
  spec.slice_budget = 1ms;
  runtime.add(std::move(spec));
  runtime.add(coroutine_service("unbudgeted", {}, {}, [](Context& ctx) -> boost::asio::awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(10ms);
    spin_for(3ms);
    co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1min);
  REQUIRE(runtime.run() == kExitOk);
  logging::flush();

  const ServiceSnapshot s = test::snapshot_of(runtime, "budgeted");
  CHECK(s.stats.slice_budget_ns == 1'000'000);
  CHECK(s.stats.slices_over_budget >= 5);  // the five spins (a loaded machine may add a preempted slice)
  CHECK(s.stats.over_budget_worst_ns >= 3'000'000);
  REQUIRE_FALSE(s.stats.over_budget_from.empty());
  CHECK(std::string(s.stats.over_budget_from.what) == "sleep");  // every slice of it after the first resumes from one
  CHECK(std::string(s.stats.over_budget_from.file).ends_with("slice_budget_test.cpp"));

  CHECK(count_lines(before, "budgeted", spdlog::level::warn, "over its slice_budget of 1000 us") == 2);
  CHECK(count_lines(before, "budgeted", spdlog::level::warn, "resumed from sleep at ") == 2);
  CHECK(count_lines(before, "budgeted", spdlog::level::info, "slices back within slice_budget") == 2);

  const ServiceSnapshot u = test::snapshot_of(runtime, "unbudgeted");
  CHECK(u.stats.slices_over_budget == 0);
  CHECK(u.stats.longest_slice_ns >= 3'000'000);  // it did run long: only a budget reports it
  CHECK(count_lines(before, "unbudgeted", spdlog::level::warn, "slice_budget") == 0);
}

TEST_CASE("slice budget: the config key is read per service and checked with file:line", "[slice_budget]") {
  const auto assembly = apps::assemble(Config::parse("[service.heartbeat]\nslice_budget = \"200us\"\n", "box.toml"));
  REQUIRE(assembly.services.size() == 1);
  CHECK(assembly.services[0].spec.slice_budget == 200us);
  try {
    apps::assemble(Config::parse("[service.heartbeat]\nperiod = \"1s\"\nslice_budget = \"0s\"\n", "box.toml"));
    FAIL("slice_budget = 0s was accepted");
  } catch (const ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("box.toml:3"));
    CHECK_THAT(e.what(), Catch::Contains("slice_budget"));
  }
}

}  // namespace weft
