// Simulated values: see value_model.hpp.
#include "weft/drivers/sim/value_model.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace weft::sim {

std::optional<ValueModel::Kind> ValueModel::parse_kind(std::string_view name) noexcept {
  if (name == "constant") return Kind::constant;
  if (name == "ramp") return Kind::ramp;
  if (name == "sine") return Kind::sine;
  if (name == "random-walk") return Kind::random_walk;
  return std::nullopt;
}

ValueSource::ValueSource(ValueModel model) : model_(model), rng_(model.seed), position_((model.min + model.max) / 2) {}

double ValueSource::sample(MonoTime now) {
  const double phase = model_.period.count() > 0
                           ? std::fmod(static_cast<double>(to_ns(now)), static_cast<double>(model_.period.count())) /
                                 static_cast<double>(model_.period.count())
                           : 0.0;
  switch (model_.kind) {
    case ValueModel::Kind::constant:
      return model_.min;
    case ValueModel::Kind::ramp:
      return model_.min + (model_.max - model_.min) * phase;
    case ValueModel::Kind::sine:
      return (model_.min + model_.max) / 2 + (model_.max - model_.min) / 2 * std::sin(2 * std::numbers::pi * phase);
    case ValueModel::Kind::random_walk: {
      std::uniform_real_distribution<double> delta(-model_.step, model_.step);
      position_ = std::clamp(position_ + delta(rng_), model_.min, model_.max);
      return position_;
    }
  }
  return 0;
}

}  // namespace weft::sim
