// Proves DelayedErrors: every item runs even after a failure, the first failure is kept (as
// the original exception) and summarised as "<n> of <attempts> failed; first: <item>: <what>",
// and the collector resets after throwing so it can be reused for the next cycle.
#include "weft/core/delayed_errors.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Timeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs one poll cycle over five items of which "unit 3" and "unit 5" fail.
std::vector<std::string> cycle(weft::DelayedErrors& errors) {
  std::vector<std::string> ran;
  for (int i = 1; i <= 5; ++i) {
    const std::string item = "unit " + std::to_string(i);
    errors.run(item, [&] {
      ran.push_back(item);
      if (i == 3) throw Timeout("timeout");
      if (i == 5) throw std::logic_error("bad reply");
    });
  }
  return ran;
}

}  // namespace

TEST_CASE("delayed errors run every item and report the first failure", "[delayed_errors]") {
  weft::DelayedErrors errors;
  const auto ran = cycle(errors);
  CHECK(ran == std::vector<std::string>{"unit 1", "unit 2", "unit 3", "unit 4", "unit 5"});
  CHECK(errors.any());
  CHECK(errors.failures() == 2);
  CHECK(errors.attempts() == 5);

  try {
    errors.throw_if_any();
    FAIL("throw_if_any() did not throw");
  } catch (const weft::DelayedError& e) {
    CHECK(std::string(e.what()) == "2 of 5 failed; first: unit 3: timeout");
    REQUIRE(e.first());
    // first() is the original exception object, with its own type.
    CHECK_THROWS_AS(std::rethrow_exception(e.first()), Timeout);
    try {
      std::rethrow_exception(e.first());
    } catch (const Timeout& t) {
      CHECK(std::string(t.what()) == "timeout");
    }
  }

  // Reset after the throw: a clean cycle does not throw, and counts start again.
  CHECK_FALSE(errors.any());
  CHECK(errors.failures() == 0);
  CHECK(errors.attempts() == 0);
  CHECK_NOTHROW(errors.throw_if_any());

  // A second failing cycle reports only its own failures.
  cycle(errors);
  CHECK_THROWS_WITH(errors.throw_if_any(), "2 of 5 failed; first: unit 3: timeout");
  CHECK_FALSE(errors.any());
}

TEST_CASE("delayed errors capture inside a catch block and unknown exceptions", "[delayed_errors]") {
  weft::DelayedErrors errors;
  for (const char* item : {"a", "b", "c"}) {
    try {
      if (std::string(item) == "b") throw 42;  // not a std::exception
      if (std::string(item) == "c") throw std::runtime_error("late");
      errors.succeeded();
    } catch (...) {
      errors.capture(item);
    }
  }
  CHECK(errors.failures() == 2);
  CHECK(errors.attempts() == 3);
  try {
    errors.throw_if_any();
    FAIL("throw_if_any() did not throw");
  } catch (const weft::DelayedError& e) {
    CHECK(std::string(e.what()) == "2 of 3 failed; first: b: unknown exception");
    CHECK_THROWS_AS(std::rethrow_exception(e.first()), int);
  }
}

TEST_CASE("delayed errors with no failure do not throw", "[delayed_errors]") {
  weft::DelayedErrors errors;
  for (int i = 0; i < 4; ++i) errors.run("ok", [] {});
  CHECK(errors.attempts() == 4);
  CHECK_FALSE(errors.any());
  CHECK_NOTHROW(errors.throw_if_any());
  CHECK(errors.attempts() == 0);  // reset for the next cycle
}
