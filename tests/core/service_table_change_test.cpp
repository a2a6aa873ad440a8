// Tests of the runtime's live-reload primitives (RuntimeControl:
// check_change, change_services, wait_service) through weft::Runtime on the
// virtual clock, with small fake services: a replaced service keeps its
// record, a bad change is rejected whole, each way a wait for a service
// ends, and a runtime stop landing while a wait runs or right after a
// service left the table.
#include "weft/core/runtime.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/core/context.hpp"
#include "weft/core/runtime_control.hpp"
#include "support/virtual_runtime.hpp"

using boost::asio::awaitable;
using weft::Context;
using weft::ServiceEvent;
using weft::VirtualClock;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

weft::ServiceSpec tablechange_idle(std::string name, std::vector<std::string> needs = {}) {
  return weft::coroutine_service(std::move(name), std::move(needs), {}, [](Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  });
}

weft::RestartPolicy tablechange_policy(weft::Duration min_backoff, weft::Duration start_timeout = 10s) {
  weft::RestartPolicy p;
  p.min_backoff = min_backoff;
  p.max_backoff = min_backoff;
  p.intensity = 100;
  p.intensity_period = 60s;
  p.start_timeout = start_timeout;
  return p;
}

weft::ServiceDefinition tablechange_def(weft::ServiceSpec spec) {
  weft::ServiceDefinition d;
  d.spec = std::move(spec);
  return d;
}

std::string tablechange_error(weft::RuntimeControl& rc, const weft::ServiceTableChange& change, bool apply) {
  try {
    if (apply)
      rc.change_services(change);
    else
      rc.check_change(change);
  } catch (const weft::ServiceGraphError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("change_services replacing a stopped service keeps its restart count and generation, and runs the new spec",
          "[supervisor][reload]") {
  weft::Runtime runtime(weft::test::virtual_options());
  int old_runs = 0, new_runs = 0;
  std::size_t restarts_before = 0, restarts_after = 0;
  std::uint64_t gen_before = 0, gen_after = 0;
  ServiceEvent stopped = ServiceEvent::timeout, ready = ServiceEvent::timeout;
  bool applied = false;
  // Fails twice, then stays up: two restarts on its record.
  runtime.add(weft::coroutine_service("flaky", {}, tablechange_policy(10ms), [&](Context& ctx) -> awaitable<void> {
    if (++old_runs <= 2) throw std::runtime_error("flaky: not yet");
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("operator", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    weft::RuntimeControl& rc = ctx.runtime_control();
    co_await ctx.sleep_until(VirtualClock::kStart + 500ms);
    restarts_before = rc.service("flaky")->snapshot.restarts;
    gen_before = rc.service("flaky")->generation;
    REQUIRE(rc.stop_service("flaky"));
    for (int i = 0; i < 100 && rc.service("flaky")->snapshot.state != "stopped"; ++i) co_await ctx.sleep(10ms);
    stopped = (co_await rc.wait_service("flaky", rc.clock().now() + 1s)).event;
    weft::ServiceTableChange change;
    change.replace.push_back(tablechange_def(weft::coroutine_service(
        "flaky", {}, tablechange_policy(10ms), [&](Context& c) -> awaitable<void> {
          ++new_runs;
          c.ready();
          for (;;) co_await c.sleep(1h);
        })));
    rc.change_services(std::move(change));
    applied = true;
    REQUIRE(rc.start_service("flaky"));
    ready = (co_await rc.wait_service("flaky", rc.clock().now() + 1s)).event;
    restarts_after = rc.service("flaky")->snapshot.restarts;
    gen_after = rc.service("flaky")->generation;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(2s);
  REQUIRE(runtime.run() == weft::kExitOk);
  CHECK(restarts_before == 2);
  CHECK(stopped == ServiceEvent::stopped);
  CHECK(applied);
  CHECK(ready == ServiceEvent::ready);
  CHECK(old_runs == 3);
  CHECK(new_runs == 1);
  CHECK(restarts_after == restarts_before);
  CHECK(gen_after == gen_before + 1);
}

TEST_CASE("check_change and change_services reject a cycle, an unknown need or a running service, changing nothing",
          "[supervisor][reload]") {
  weft::Runtime runtime(weft::test::virtual_options());
  std::vector<std::string> errors;
  std::vector<std::string> names_before, names_after;
  std::vector<std::string> a_needs_after;
  std::string a_state, b_state;
  runtime.add(tablechange_idle("a"));
  runtime.add(tablechange_idle("b", {"a"}));
  runtime.add(weft::coroutine_service("operator", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    weft::RuntimeControl& rc = ctx.runtime_control();
    co_await ctx.sleep_until(VirtualClock::kStart + 100ms);
    names_before = rc.service_names();
    weft::ServiceTableChange cycle;  // c needs d, d needs c
    cycle.add.push_back(tablechange_def(tablechange_idle("c", {"d"})));
    cycle.add.push_back(tablechange_def(tablechange_idle("d", {"c"})));
    weft::ServiceTableChange unknown;  // e needs nosuch, and b goes too
    unknown.add.push_back(tablechange_def(tablechange_idle("e", {"nosuch"})));
    weft::ServiceTableChange a_needs_b;  // a replaced to need b, which needs a: a cycle through the running graph
    a_needs_b.replace.push_back(tablechange_def(tablechange_idle("a", {"b"})));
    weft::ServiceTableChange remove_needed;  // a removed while b needs it
    remove_needed.remove.push_back("a");
    for (bool apply : {false, true}) {
      errors.push_back(tablechange_error(rc, cycle, apply));
      errors.push_back(tablechange_error(rc, unknown, apply));
      errors.push_back(tablechange_error(rc, a_needs_b, apply));
      errors.push_back(tablechange_error(rc, remove_needed, apply));
    }
    names_after = rc.service_names();
    a_needs_after = rc.service("a")->needs;
    co_await ctx.sleep(50ms);
    a_state = rc.service("a")->snapshot.state;
    b_state = rc.service("b")->snapshot.state;
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(1s);
  REQUIRE(runtime.run() == weft::kExitOk);
  REQUIRE(errors.size() == 8);
  for (std::size_t i = 0; i < 8; i += 4) {
    INFO("apply: " << (i == 4));
    CHECK_THAT(errors[i + 0], Contains("cycle"));
    CHECK_THAT(errors[i + 1], Contains("nosuch"));
    CHECK(errors[i + 2] != "(no error)");
    CHECK(errors[i + 3] != "(no error)");
  }
  // The cycle is in the table as it would be: check_change sees it without a stop.
  CHECK_THAT(errors[2], Contains("cycle"));
  CHECK(names_after == names_before);
  CHECK(a_needs_after.empty());
  CHECK(a_state == "running");
  CHECK(b_state == "running");
}

TEST_CASE("wait_service ends with ready, failed (and why), stopped, timeout or unknown", "[supervisor][reload]") {
  weft::Runtime runtime(weft::test::virtual_options());
  std::optional<weft::ServiceWaitResult> slow, bad, never, gone, none, already;
  std::int64_t slow_at = -1, never_at = -1;
  runtime.add(weft::coroutine_service("slow", {}, {}, [](Context& ctx) -> awaitable<void> {
    co_await ctx.sleep(100ms);
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("bad", {}, tablechange_policy(10s), [](Context& ctx) -> awaitable<void> {
    co_await ctx.sleep(20ms);
    throw std::runtime_error("bad: the port is gone");
  }));
  runtime.add(weft::coroutine_service("never", {}, tablechange_policy(10s, 1h), [](Context& ctx) -> awaitable<void> {
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(tablechange_idle("victim"));
  runtime.add(weft::coroutine_service("operator", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    weft::RuntimeControl& rc = ctx.runtime_control();
    slow = co_await rc.wait_service("slow", rc.clock().now() + 1s);
    slow_at = weft::test::ms_since_start(rc.clock().now());
    bad = co_await rc.wait_service("bad", rc.clock().now() + 1s);
    never = co_await rc.wait_service("never", rc.clock().now() + 50ms);
    never_at = weft::test::ms_since_start(rc.clock().now());
    already = co_await rc.wait_service("slow", rc.clock().now() + 1s);  // ready already: at once
    rc.stop_service("victim");
    gone = co_await rc.wait_service("victim", rc.clock().now() + 1s);
    none = co_await rc.wait_service("nosuch", rc.clock().now() + 1s);
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.stop_after(2s);
  REQUIRE(runtime.run() == weft::kExitOk);
  REQUIRE(slow);
  CHECK(slow->event == ServiceEvent::ready);
  CHECK(slow_at >= 100);
  CHECK(slow_at <= 110);  // woken by the state change, not at the 1 s deadline
  REQUIRE(bad);
  CHECK(bad->event == ServiceEvent::failed);
  CHECK_THAT(bad->error, Contains("the port is gone"));
  REQUIRE(never);
  CHECK(never->event == ServiceEvent::timeout);
  CHECK(never_at >= 150);
  CHECK(never_at <= 160);
  REQUIRE(already);
  CHECK(already->event == ServiceEvent::ready);
  REQUIRE(gone);
  CHECK(gone->event == ServiceEvent::stopped);
  REQUIRE(none);
  CHECK(none->event == ServiceEvent::unknown);
}

TEST_CASE("a runtime stop while a coroutine waits in wait_service ends the wait and run() returns",
          "[supervisor][reload]") {
  weft::Runtime runtime(weft::test::virtual_options());
  bool waiting = false, returned = false, aborted = false;
  std::optional<ServiceEvent> event;
  runtime.add(weft::coroutine_service("never", {}, tablechange_policy(10s, 1h), [](Context& ctx) -> awaitable<void> {
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("waiter", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    weft::RuntimeControl& rc = ctx.runtime_control();
    waiting = true;
    try {
      event = (co_await rc.wait_service("never", rc.clock().now() + 1h)).event;
      returned = true;
    } catch (const boost::system::system_error& e) {
      aborted = weft::test::is_operation_aborted(e);
      throw;
    }
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("stopper", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(100ms);
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  CHECK(waiting);
  // Either way the wait ended: it woke with `stopped`, or was cancelled with its service.
  CHECK((aborted || (returned && event == ServiceEvent::stopped)));
}

TEST_CASE("a runtime stop right after change_services removed a service: run() returns", "[supervisor][reload]") {
  weft::Runtime runtime(weft::test::virtual_options());
  bool removed = false;
  std::vector<std::string> names;
  runtime.add(tablechange_idle("victim"));
  runtime.add(tablechange_idle("user", {"victim"}));
  runtime.add(weft::coroutine_service("operator", {}, {}, [&](Context& ctx) -> awaitable<void> {
    ctx.ready();
    weft::RuntimeControl& rc = ctx.runtime_control();
    co_await ctx.sleep(100ms);
    rc.stop_service("user");
    rc.stop_service("victim");
    (void)co_await rc.wait_service("user", rc.clock().now() + 1s);
    (void)co_await rc.wait_service("victim", rc.clock().now() + 1s);
    for (int i = 0; i < 100 && (rc.service("victim")->snapshot.state != "stopped" ||
                                rc.service("user")->snapshot.state != "stopped");
         ++i)
      co_await ctx.sleep(10ms);
    weft::ServiceTableChange change;
    change.remove = {"user", "victim"};
    rc.change_services(std::move(change));
    removed = true;
    names = rc.service_names();
    runtime.request_stop();  // at once: the removed records are still held
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  CHECK(removed);
  CHECK(names == std::vector<std::string>{"operator"});
}
