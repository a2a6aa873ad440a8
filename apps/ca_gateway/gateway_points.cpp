// Record entries on the bus: each DBR_TIME update of a [[service.ca_gateway.record]]
// PV is published as its point with the upstream's time stamp as the
// reading's wall time (mono time: when it arrived), so record stores it,
// upload sends it and the box's own ca service serves it. Values as the bus
// allows: DOUBLE/FLOAT -> number, SHORT/LONG/CHAR/ENUM -> integer (an
// ENUM's state names go into the point's description), STRING -> text; a
// numeric array channel (native count > 1) -> a NumberArray, so the box
// serves it as an array PV again (its size was bounded by max_array_bytes
// when it was read: a bigger one never gets here); ENUM and STRING arrays
// are not published (logged once per PV). Quality: an upstream
// alarm severity INVALID -> comm_error; the channel disconnected -> the
// last value again as stale. CTRL metadata becomes the point's description
// (unit, precision, display and control limits, state names; an array's
// native count as max_length, described as soon as it connects); the alarm
// limits are not copied, so the box's ca does not re-derive an alarm the
// upstream did not raise.
#include <chrono>
#include <cmath>
#include <spdlog/spdlog.h>

#include "gateway.hpp"
#include "weft/apps/ca_gateway/point_value.hpp"
#include "weft/core/reading.hpp"

namespace weft::apps::ca_gateway {

std::optional<weft::Value> bus_value(const ca::Value& v, std::uint32_t native_count) {
  if (const auto* text = std::get_if<std::vector<std::string>>(&v.elements)) {
    if (text->size() != 1 || native_count > 1) return std::nullopt;
    return weft::Value{text->front()};
  }
  const auto& numbers = std::get<std::vector<double>>(v.elements);
  if (native_count > 1 || numbers.size() > 1) {
    if (v.type == ca::ValueType::enumerated || v.type == ca::ValueType::string) return std::nullopt;
    return weft::Value{NumberArray(numbers)};
  }
  if (numbers.size() != 1) return std::nullopt;
  switch (v.type) {
    case ca::ValueType::float32:
    case ca::ValueType::float64: return weft::Value{numbers.front()};
    case ca::ValueType::string: return std::nullopt;
    case ca::ValueType::int16:
    case ca::ValueType::uint8:
    case ca::ValueType::int32:
    case ca::ValueType::enumerated: return weft::Value{static_cast<std::int64_t>(numbers.front())};
  }
  return std::nullopt;
}

Quality bus_quality(const ca::Value& v) {
  return v.alarm.severity == ca::Severity::invalid ? Quality::comm_error : Quality::good;
}

std::optional<std::int64_t> wall_ns_of(const ca::TimeStamp& stamp) {
  if (stamp.sec_past_epoch == 0 && stamp.nsec == 0) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(ca::from_epics(stamp).time_since_epoch()).count();
}

namespace {

std::int64_t wall_of(const Gateway& g, const ca::TimeStamp& stamp) {
  return wall_ns_of(stamp).value_or(g.ctx.clock().wall_ns());  // a zero stamp: never processed upstream
}

void publish(Gateway& g, const RecordEntry& r, const weft::Value& value, Quality quality, std::int64_t wall_ns) {
  g.ctx.bus().publish(Reading{r.point, value, quality, to_ns(g.ctx.clock().now()), BootId::current(), wall_ns});
  ++g.n.published;
}

std::uint32_t native_count(const Gateway& g, std::uint32_t id) {
  const auto it = g.native_counts.find(id);
  return it == g.native_counts.end() ? 1 : it->second;
}

}  // namespace

void publish_reading(Gateway& g, const RecordEntry& r, const UpstreamPv& pv) {
  if (!pv.last) return;
  const std::uint32_t count = native_count(g, pv.id);
  const auto value = bus_value(*pv.last, count);
  if (!value) {
    if (pv.updates == 1) {
      g.ctx.log().warn("ca_gateway: {} is a {} channel of {} element(s) ({} now): not published as point {} (only "
                       "numeric arrays and single values are)",
                       pv.name, ca::to_string(pv.last->type), count, pv.last->size(), r.point);
    }
    return;
  }
  publish(g, r, *value, bus_quality(*pv.last), wall_of(g, pv.last->stamp));
}

void publish_stale(Gateway& g, const RecordEntry& r, const UpstreamPv& pv) {
  if (!pv.last) return;
  const auto value = bus_value(*pv.last, native_count(g, pv.id));
  if (value) publish(g, r, *value, Quality::stale, g.ctx.clock().wall_ns());
}

void describe_point(Gateway& g, const RecordEntry& r, const UpstreamPv& pv) {
  const std::uint32_t count = native_count(g, pv.id);
  PointInfo info;
  if (count > 1) info.max_length = count;  // the box serves the upstream's native count (NELM)
  info.description = "via ca_gateway from " + pv.name;
  if (info.description.size() > 39) info.description.resize(39);
  info.monitor_deadband = -1;  // every upstream update is passed on (the upstream applied its own deadband)
  info.archive_deadband = -1;
  if (!pv.meta) {  // connected, its CTRL not read yet: the count, before the first reading
    if (count > 1) g.ctx.bus().describe(r.point, std::move(info));
    return;
  }
  const ca::Metadata& m = *pv.meta;
  info.unit = m.units;
  if (m.precision) info.precision = *m.precision;
  if (m.upper_disp > m.lower_disp) {
    info.display_low = m.lower_disp;
    info.display_high = m.upper_disp;
  }
  if (m.upper_ctrl > m.lower_ctrl) {
    info.control_low = m.lower_ctrl;
    info.control_high = m.upper_ctrl;
  }
  info.states = m.enum_strings;
  g.ctx.bus().describe(r.point, std::move(info));
}

}  // namespace weft::apps::ca_gateway
