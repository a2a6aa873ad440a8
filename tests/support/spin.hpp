// Real CPU work for tests that need the loop (or a thread) to be busy: spins
// on the steady clock for at least `d`. Never asserted as a duration.
#pragma once

#include <chrono>

namespace weft::test {

inline void spin(std::chrono::nanoseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace weft::test
