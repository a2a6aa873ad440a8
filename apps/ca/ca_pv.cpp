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

std::optional<Field> parse_field(std::string_view field) noexcept {
  static constexpr std::pair<std::string_view, Field> kFields[] = {
      {"VAL", Field::val},   {"NAME", Field::name}, {"DESC", Field::desc}, {"EGU", Field::egu},
      {"PREC", Field::prec}, {"HOPR", Field::hopr}, {"LOPR", Field::lopr}, {"DRVH", Field::drvh},
      {"DRVL", Field::drvl}, {"HIHI", Field::hihi}, {"HIGH", Field::high}, {"LOW", Field::low},
      {"LOLO", Field::lolo}, {"SEVR", Field::sevr}, {"STAT", Field::stat}};
  for (const auto& [name, f] : kFields) {
    if (name == field) return f;
  }
  return std::nullopt;
}

namespace {

ca::Value field_of(const ca::Value& pv, ca::ValueType type, ca::Elements elements) {
  ca::Value v;
  v.type = type;
  v.elements = std::move(elements);
  v.alarm = pv.alarm;
  v.stamp = pv.stamp;
  return v;
}

ca::Value text_field(const ca::Value& pv, std::string text) {
  return field_of(pv, ca::ValueType::string, std::vector<std::string>{std::move(text)});
}

ca::Value number_field(const ca::Value& pv, double x) {
  ca::Value v = field_of(pv, ca::ValueType::float64, std::vector<double>{x});
  v.meta.units = pv.meta.units;
  v.meta.precision = pv.meta.precision;
  return v;
}

ca::Value menu_field(const ca::Value& pv, double index, std::vector<std::string> menu) {
  ca::Value v = field_of(pv, ca::ValueType::enumerated, std::vector<double>{index});
  v.meta.enum_strings = std::move(menu);
  return v;
}

}  // namespace

ca::Value field_value(Field f, const ca::Value& pv, std::string_view pv_name, const PointInfo* info) {
  const ca::Metadata& m = pv.meta;
  switch (f) {
    case Field::val: return pv;
    case Field::name: return text_field(pv, std::string(pv_name));
    case Field::desc: return text_field(pv, info != nullptr ? info->description : std::string());
    case Field::egu: return text_field(pv, m.units);
    case Field::prec: {
      ca::Value v = field_of(pv, ca::ValueType::int16, std::vector<double>{static_cast<double>(m.precision.value_or(0))});
      return v;
    }
    case Field::hopr: return number_field(pv, m.upper_disp);
    case Field::lopr: return number_field(pv, m.lower_disp);
    case Field::drvh: return number_field(pv, m.upper_ctrl);
    case Field::drvl: return number_field(pv, m.lower_ctrl);
    case Field::hihi: return number_field(pv, m.upper_alarm);
    case Field::high: return number_field(pv, m.upper_warning);
    case Field::low: return number_field(pv, m.lower_warning);
    case Field::lolo: return number_field(pv, m.lower_alarm);
    case Field::sevr: {
      std::vector<std::string> menu;
      for (std::uint16_t i = 0; i <= static_cast<std::uint16_t>(ca::Severity::invalid); ++i) {
        menu.emplace_back(ca::to_string(static_cast<ca::Severity>(i)));
      }
      return menu_field(pv, static_cast<double>(pv.alarm.severity), std::move(menu));
    }
    case Field::stat: {
      std::vector<std::string> menu;  // 22 states; DBR_CTRL_ENUM carries the first 16, text reads name them all
      for (std::uint16_t i = 0; i <= static_cast<std::uint16_t>(ca::Status::write_access); ++i) {
        menu.emplace_back(ca::to_string(static_cast<ca::Status>(i)));
      }
      return menu_field(pv, static_cast<double>(pv.alarm.status), std::move(menu));
    }
  }
  return pv;
}

std::uint16_t field_events(Field f, std::uint16_t pv_events) noexcept {
  constexpr std::uint16_t changed = ca::dbe_value | ca::dbe_log;
  switch (f) {
    case Field::val: return pv_events;
    case Field::name: return 0;
    case Field::sevr:
    case Field::stat: return (pv_events & ca::dbe_alarm) != 0 ? changed | ca::dbe_alarm : 0;
    default: return (pv_events & ca::dbe_property) != 0 ? changed | ca::dbe_property : 0;
  }
}

ca::ValueType native_type(const weft::Value& v) noexcept {
  switch (v.index()) {
    case 0: return ca::ValueType::float64;
    case 1: return ca::ValueType::int32;
    case 2: return ca::ValueType::enumerated;
    case 3: return ca::ValueType::string;
    default: return ca::ValueType::float64;  // an array of numbers: a DOUBLE array
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
  } else if (const auto* a = std::get_if<NumberArray>(&r.value)) {
    elements = std::vector<double>(a->values().begin(), a->values().end());
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

// recGblCheckDeadband, per element: beyond the deadband from what was last
// sent. An array counts as changed when its length changed or any one
// element moved beyond the deadband (EPICS waveforms only know "on any
// change"; this keeps mdel/adel meaning the same for a scalar and for each
// element of an array).
bool beyond_deadband(const ca::Elements& sent, const ca::Elements& now, double deadband) {
  if (deadband < 0) return true;
  const auto* a = std::get_if<std::vector<double>>(&sent);
  const auto* b = std::get_if<std::vector<double>>(&now);
  if (a == nullptr || b == nullptr) return sent != now;
  if (a->size() != b->size()) return true;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const double x = (*a)[i], y = (*b)[i];
    if (std::isfinite(x) && std::isfinite(y)) {
      if (std::fabs(x - y) > deadband) return true;
    } else if (!(std::isnan(x) && std::isnan(y)) && x != y) {
      return true;
    }
  }
  return false;
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
