// Values for simulated instruments: constant, ramp, sine or a seeded random
// walk, as a function of the runtime's clock, so a simulated day on the
// virtual clock looks like a day. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "weft/core/clock.hpp"

namespace weft::sim {

struct ValueModel {
  enum class Kind : std::uint8_t { constant, ramp, sine, random_walk };
  Kind kind = Kind::ramp;
  double min = 0;       // constant: the value; ramp/sine/walk: the range
  double max = 100;
  Duration period = std::chrono::minutes(10);  // ramp and sine
  double step = 1;      // random walk: largest change per sample
  std::uint64_t seed = 1;

  static std::optional<Kind> parse_kind(std::string_view name) noexcept;  // constant, ramp, sine, random-walk
};

// One point's generator (the random walk keeps its position).
class ValueSource {
public:
  explicit ValueSource(ValueModel model);
  double sample(MonoTime now);

private:
  ValueModel model_;
  std::mt19937_64 rng_;
  double position_;
};

}  // namespace weft::sim
