// Delayed errors: see delayed_errors.hpp.
#include "weft/core/delayed_errors.hpp"

namespace weft {

void DelayedErrors::capture(std::string_view item) { capture(item, std::current_exception()); }

void DelayedErrors::capture(std::string_view item, std::exception_ptr error) {
  ++attempts_;
  if (failures_++ > 0) return;
  first_ = error;
  std::string what = "unknown exception";
  try {
    if (error) std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  first_message_ = std::string(item) + ": " + what;
}

void DelayedErrors::throw_if_any() {
  if (failures_ == 0) {
    attempts_ = 0;
    return;
  }
  const std::string what =
      std::to_string(failures_) + " of " + std::to_string(attempts_) + " failed; first: " + first_message_;
  std::exception_ptr first = first_;
  *this = DelayedErrors{};
  throw DelayedError(what, first);
}

}  // namespace weft
