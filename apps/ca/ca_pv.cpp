// Points as PVs (ca_pv.hpp): name mapping, type and alarm mapping.
#include "weft/apps/ca/ca_pv.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace weft::apps::ca_pv {

std::string pv_name(std::string_view device, std::string_view point) {
  std::string name(device);
  name += ':';
  name += point;
  std::replace(name.begin() + static_cast<std::ptrdiff_t>(device.size() + 1), name.end(), '.', ':');
  return name;
}

FieldRef split_field(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    const std::string_view field = name.substr(dot + 1);
    const bool upper = !field.empty() && field.size() <= 4 &&
                       std::all_of(field.begin(), field.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    if (upper) return {std::string(name.substr(0, dot)), std::string(field)};
  }
  return {std::string(name), "VAL"};
}

ca::ValueType native_type(const weft::Value& v) noexcept {
  switch (v.index()) {
    case 0: return ca::ValueType::float64;
    case 1: return ca::ValueType::int32;
    case 2: return ca::ValueType::enumerated;
    default: return ca::ValueType::string;
  }
}

ca::ValueType native_type(const weft::Value& v, const PointInfo* info) noexcept {
  const ca::ValueType t = native_type(v);
  if (info != nullptr && !info->states.empty() && t != ca::ValueType::string) return ca::ValueType::enumerated;
  return t;
}

ca::Value to_ca(const Reading& r, ca::ValueType native) {
  ca::Value v;
  v.type = native;
  if (native == ca::ValueType::enumerated) v.meta.enum_strings = {"false", "true"};
  ca::ValueType from = ca::ValueType::float64;
  ca::Elements elements;
  if (const auto* d = std::get_if<double>(&r.value)) {
    elements = std::vector<double>{*d};
  } else if (const auto* i = std::get_if<std::int64_t>(&r.value)) {
    elements = std::vector<double>{static_cast<double>(*i)};
    from = ca::ValueType::int32;
  } else if (const auto* b = std::get_if<bool>(&r.value)) {
    elements = std::vector<double>{*b ? 1.0 : 0.0};
    from = ca::ValueType::enumerated;
  } else {
    elements = std::vector<std::string>{std::get<std::string>(r.value)};
    from = ca::ValueType::string;
  }
  auto converted = ca::convert_elements(elements, from, native, v.meta);
  if (auto* ok = std::get_if<ca::Elements>(&converted)) {
    v.elements = std::move(*ok);
  } else {
    v.elements = native == ca::ValueType::string ? ca::Elements{std::vector<std::string>{""}}
                                                 : ca::Elements{std::vector<double>{0}};
    v.alarm = {ca::Status::calc, ca::Severity::invalid};
  }
  switch (r.quality) {
    case Quality::good: break;
    case Quality::comm_error: v.alarm = {ca::Status::comm, ca::Severity::invalid}; break;
    case Quality::stale: v.alarm = {ca::Status::timeout, ca::Severity::invalid}; break;
  }
  v.stamp = ca::to_epics(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(r.wall_ns))));
  return v;
}

namespace {

ca::Alarm limit_alarm(double v, const PointInfo& info) {
  if (info.hihi && v >= *info.hihi) return {ca::Status::hihi, ca::Severity::major};
  if (info.lolo && v <= *info.lolo) return {ca::Status::lolo, ca::Severity::major};
  if (info.high && v >= *info.high) return {ca::Status::high, ca::Severity::minor};
  if (info.low && v <= *info.low) return {ca::Status::low, ca::Severity::minor};
  return {};
}

}  // namespace

void apply_point_info(ca::Value& v, const PointInfo& info) {
  constexpr double unset = std::numeric_limits<double>::quiet_NaN();
  ca::Metadata& m = v.meta;
  m.units = info.unit;
  if ((v.type == ca::ValueType::float64 || v.type == ca::ValueType::float32) && info.precision) {
    m.precision = static_cast<std::int16_t>(*info.precision);
  }
  m.upper_disp = info.display_high.value_or(0);
  m.lower_disp = info.display_low.value_or(0);
  m.upper_alarm = info.hihi.value_or(unset);
  m.upper_warning = info.high.value_or(unset);
  m.lower_warning = info.low.value_or(unset);
  m.lower_alarm = info.lolo.value_or(unset);
  m.upper_ctrl = info.control_high.value_or(m.upper_disp);
  m.lower_ctrl = info.control_low.value_or(m.lower_disp);
  if (v.type == ca::ValueType::enumerated && !info.states.empty()) m.enum_strings = info.states;
  const auto* numbers = std::get_if<std::vector<double>>(&v.elements);
  if (numbers != nullptr && numbers->size() == 1 && v.alarm.severity == ca::Severity::no_alarm) {
    v.alarm = limit_alarm(numbers->front(), info);
  }
}

namespace {

// recGblCheckDeadband: beyond the deadband from what was last sent.
bool beyond_deadband(const ca::Elements& sent, const ca::Elements& now, double deadband) {
  if (deadband < 0) return true;
  const auto* a = std::get_if<std::vector<double>>(&sent);
  const auto* b = std::get_if<std::vector<double>>(&now);
  if (a == nullptr || b == nullptr || a->size() != 1 || b->size() != 1) return sent != now;
  const double x = a->front(), y = b->front();
  if (std::isfinite(x) && std::isfinite(y)) return std::fabs(x - y) > deadband;
  if (std::isnan(x) && std::isnan(y)) return false;
  return x != y;
}

}  // namespace

std::uint16_t events_for(LastPosted& last, const ca::Value& before, const ca::Value& after, double monitor_deadband,
                         double archive_deadband) {
  std::uint16_t events = 0;
  if (beyond_deadband(last.value, after.elements, monitor_deadband)) {
    events |= ca::dbe_value;
    last.value = after.elements;
  }
  if (beyond_deadband(last.log, after.elements, archive_deadband)) {
    events |= ca::dbe_log;
    last.log = after.elements;
  }
  if (before.alarm != after.alarm) events |= ca::dbe_alarm;
  return events;
}

}  // namespace weft::apps::ca_pv
