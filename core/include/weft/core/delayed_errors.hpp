// Delayed errors: a loop over many things (instruments in a poll cycle)
// runs every item, keeps the first failure and a count, and raises after
// the loop, so one bad item does not starve the others.
//
//   DelayedErrors errors;
//   for (auto& i : instruments)
//     try { co_await poll(i); } catch (...) { errors.capture(i.name); }
//   errors.throw_if_any();  // "2 of 20 failed; first: unit 3: timeout"
#pragma once

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weft {

class DelayedError : public std::runtime_error {
public:
  DelayedError(const std::string& what, std::exception_ptr first) : std::runtime_error(what), first_(first) {}
  std::exception_ptr first() const noexcept { return first_; }

private:
  std::exception_ptr first_;
};

class DelayedErrors {
public:
  // Call inside a catch block: records std::current_exception() for `item`.
  void capture(std::string_view item);
  void capture(std::string_view item, std::exception_ptr error);
  void succeeded() noexcept { ++attempts_; }

  // Runs f(); a throw is captured, not propagated.
  template <typename F>
  void run(std::string_view item, F&& f) {
    try {
      f();
      succeeded();
    } catch (...) {
      capture(item);
    }
  }

  std::size_t failures() const noexcept { return failures_; }
  std::size_t attempts() const noexcept { return attempts_; }
  bool any() const noexcept { return failures_ > 0; }
  // Throws DelayedError("<n> of <attempts> failed; first: <item>: <what>"),
  // carrying the first exception; then resets.
  void throw_if_any();

private:
  std::size_t failures_ = 0;
  std::size_t attempts_ = 0;
  std::exception_ptr first_;
  std::string first_message_;
};

}  // namespace weft
