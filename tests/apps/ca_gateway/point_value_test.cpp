// Upstream CA readings as bus readings: types to the bus's Value kinds,
// INVALID severity as comm_error, the EPICS time stamp as wall ns (exact),
// numeric arrays as NumberArray (ENUM and STRING arrays and zero stamps refused).
#include "weft/apps/ca_gateway/point_value.hpp"

#include <catch2/catch.hpp>

namespace weft::apps::ca_gateway {
namespace {

ca::Value value_of(ca::ValueType type, ca::Elements e, ca::Severity sev = ca::Severity::no_alarm) {
  ca::Value v;
  v.type = type;
  v.elements = std::move(e);
  v.alarm.severity = sev;
  return v;
}

}  // namespace

TEST_CASE("gateway points: CA types map to the bus's values", "[ca_gateway][points]") {
  using VT = ca::ValueType;
  CHECK(bus_value(value_of(VT::float64, std::vector<double>{2.5})) == std::optional<weft::Value>(2.5));
  CHECK(bus_value(value_of(VT::float32, std::vector<double>{0.5})) == std::optional<weft::Value>(0.5));
  CHECK(bus_value(value_of(VT::int32, std::vector<double>{-7})) == std::optional<weft::Value>(std::int64_t{-7}));
  CHECK(bus_value(value_of(VT::int16, std::vector<double>{3})) == std::optional<weft::Value>(std::int64_t{3}));
  CHECK(bus_value(value_of(VT::uint8, std::vector<double>{255})) == std::optional<weft::Value>(std::int64_t{255}));
  CHECK(bus_value(value_of(VT::enumerated, std::vector<double>{1})) == std::optional<weft::Value>(std::int64_t{1}));
  CHECK(bus_value(value_of(VT::string, std::vector<std::string>{"hello"})) ==
        std::optional<weft::Value>(std::string("hello")));
  // An empty scalar and a STRING array are not published.
  CHECK_FALSE(bus_value(value_of(VT::float64, std::vector<double>{})).has_value());
  CHECK_FALSE(bus_value(value_of(VT::string, std::vector<std::string>{"a", "b"}), 2).has_value());
  CHECK_FALSE(bus_value(value_of(VT::string, std::vector<std::string>{"a"}), 2).has_value());
}

TEST_CASE("gateway points: numeric array channels become arrays, whatever their current length",
          "[ca_gateway][points]") {
  using VT = ca::ValueType;
  const std::vector<double> three{1.5, -2, 3};
  for (const VT t : {VT::float64, VT::float32, VT::int32, VT::int16, VT::uint8}) {
    CAPTURE(ca::to_string(t));
    CHECK(bus_value(value_of(t, three), 8) == std::optional<weft::Value>(NumberArray(three)));
    // A 4.13 server sends the current length: 1 and 0 elements of an array channel stay arrays.
    CHECK(bus_value(value_of(t, std::vector<double>{4}), 8) ==
          std::optional<weft::Value>(NumberArray(std::vector<double>{4})));
    CHECK(bus_value(value_of(t, std::vector<double>{}), 8) == std::optional<weft::Value>(NumberArray()));
  }
  // More elements than one on a channel said to be scalar: an array too, never the first element alone.
  CHECK(bus_value(value_of(VT::float64, three)) == std::optional<weft::Value>(NumberArray(three)));
  // ENUM arrays are not published (the bus has no array of states).
  CHECK_FALSE(bus_value(value_of(VT::enumerated, three), 3).has_value());
}

TEST_CASE("gateway points: INVALID severity is comm_error, the rest good", "[ca_gateway][points]") {
  using VT = ca::ValueType;
  CHECK(bus_quality(value_of(VT::float64, std::vector<double>{1}, ca::Severity::invalid)) == Quality::comm_error);
  CHECK(bus_quality(value_of(VT::float64, std::vector<double>{1}, ca::Severity::major)) == Quality::good);
  CHECK(bus_quality(value_of(VT::float64, std::vector<double>{1}, ca::Severity::minor)) == Quality::good);
  CHECK(bus_quality(value_of(VT::float64, std::vector<double>{1})) == Quality::good);
}

TEST_CASE("gateway points: the EPICS stamp is the wall time, exact to the ns", "[ca_gateway][points]") {
  const ca::TimeStamp stamp{1'000'000'000u, 123'456'789u};
  CHECK(wall_ns_of(stamp) == (631'152'000LL + 1'000'000'000LL) * 1'000'000'000LL + 123'456'789LL);
  CHECK_FALSE(wall_ns_of(ca::TimeStamp{}).has_value());  // never processed: the caller uses its own clock
}

}  // namespace weft::apps::ca_gateway
