// Tests of how points look as PVs: the name mapping ("{device}:{point}", '.'
// to ':'), field suffixes, native types per value kind, quality as alarm
// (comm-error INVALID/COMM, stale INVALID/TIMEOUT), the wall time as an EPICS
// stamp, and which changes raise which DBE events.
#include "weft/apps/ca/ca_pv.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

namespace weft::apps {
namespace {

Reading ca_pv_reading(weft::Value v, Quality q = Quality::good) {
  Reading r;
  r.point = "line1.temp";
  r.value = std::move(v);
  r.quality = q;
  r.wall_ns = (631152000LL + 100) * 1'000'000'000LL + 250;
  return r;
}

}  // namespace

TEST_CASE("ca pv names map points and split fields", "[ca][pv]") {
  CHECK(ca_pv::pv_name("box", "line1.temp") == "box:line1:temp");
  CHECK(ca_pv::pv_name("my.box", "t") == "my.box:t");  // only the point's dots are mapped
  const auto plain = ca_pv::split_field("box:line1:temp");
  CHECK(plain.pv == "box:line1:temp");
  CHECK(plain.field == "VAL");
  const auto egu = ca_pv::split_field("box:line1:temp.EGU");
  CHECK(egu.pv == "box:line1:temp");
  CHECK(egu.field == "EGU");
  CHECK(ca_pv::split_field("box:t.val").pv == "box:t.val");    // not a field: lower case
  CHECK(ca_pv::split_field("box:t.ABCDE").pv == "box:t.ABCDE");  // not a field: too long
  CHECK(ca_pv::split_field("box:t.").pv == "box:t.");
}

TEST_CASE("ca pv native types and values from readings", "[ca][pv]") {
  CHECK(ca_pv::native_type(weft::Value{1.5}) == ca::ValueType::float64);
  CHECK(ca_pv::native_type(weft::Value{std::int64_t{3}}) == ca::ValueType::int32);
  CHECK(ca_pv::native_type(weft::Value{true}) == ca::ValueType::enumerated);
  CHECK(ca_pv::native_type(weft::Value{std::string("x")}) == ca::ValueType::string);

  const ca::Value d = ca_pv::to_ca(ca_pv_reading(1.5), ca::ValueType::float64);
  CHECK(std::get<std::vector<double>>(d.elements) == std::vector<double>{1.5});
  CHECK(d.alarm == ca::Alarm{});
  CHECK(d.stamp == ca::TimeStamp{100, 250});

  const ca::Value b = ca_pv::to_ca(ca_pv_reading(true), ca::ValueType::enumerated);
  CHECK(std::get<std::vector<double>>(b.elements) == std::vector<double>{1});
  CHECK(b.meta.enum_strings == std::vector<std::string>{"false", "true"});

  // The native type is fixed by the first reading; later kinds are converted.
  const ca::Value later = ca_pv::to_ca(ca_pv_reading(std::int64_t{70000}), ca::ValueType::float64);
  CHECK(std::get<std::vector<double>>(later.elements) == std::vector<double>{70000});
  const ca::Value text = ca_pv::to_ca(ca_pv_reading(std::string("12.5")), ca::ValueType::float64);
  CHECK(std::get<std::vector<double>>(text.elements) == std::vector<double>{12.5});
  const ca::Value junk = ca_pv::to_ca(ca_pv_reading(std::string("100w")), ca::ValueType::int32);
  CHECK(std::get<std::vector<double>>(junk.elements) == std::vector<double>{0});
  CHECK(junk.alarm == ca::Alarm{ca::Status::calc, ca::Severity::invalid});
}

TEST_CASE("ca pv quality is an alarm", "[ca][pv]") {
  CHECK(ca_pv::to_ca(ca_pv_reading(1.0, Quality::comm_error), ca::ValueType::float64).alarm ==
        ca::Alarm{ca::Status::comm, ca::Severity::invalid});
  CHECK(ca_pv::to_ca(ca_pv_reading(1.0, Quality::stale), ca::ValueType::float64).alarm ==
        ca::Alarm{ca::Status::timeout, ca::Severity::invalid});
}

TEST_CASE("ca pv changes raise value and alarm events", "[ca][pv]") {
  const ca::Value a = ca_pv::to_ca(ca_pv_reading(1.0), ca::ValueType::float64);
  ca_pv::LastPosted last{a.elements, a.elements};
  CHECK(ca_pv::events_for(last, a, a, 0, 0) == 0);
  const ca::Value b = ca_pv::to_ca(ca_pv_reading(2.0), ca::ValueType::float64);
  CHECK(ca_pv::events_for(last, a, b, 0, 0) == (ca::dbe_value | ca::dbe_log));
  const ca::Value c = ca_pv::to_ca(ca_pv_reading(2.0, Quality::comm_error), ca::ValueType::float64);
  CHECK(ca_pv::events_for(last, b, c, 0, 0) == ca::dbe_alarm);
}

TEST_CASE("ca pv deadbands compare with the last value sent (MDEL, ADEL)", "[ca][pv]") {
  auto v = [](double x) { return ca_pv::to_ca(ca_pv_reading(x), ca::ValueType::float64); };
  ca::Value before = v(0);
  ca_pv::LastPosted last{before.elements, before.elements};
  auto step = [&](double x) {
    const ca::Value next = v(x);
    const std::uint16_t e = ca_pv::events_for(last, before, next, 0.5, 2);
    before = next;
    return e;
  };
  CHECK(step(0.3) == 0);              // 0.3 from 0: within both
  CHECK(step(0.5) == 0);              // exactly the deadband: not beyond it
  CHECK(step(0.6) == ca::dbe_value);  // 0.6 from 0 (the last sent, not the last reading)
  CHECK(step(1.0) == 0);              // 0.4 from 0.6
  CHECK(step(1.2) == ca::dbe_value);
  CHECK(step(2.1) == (ca::dbe_value | ca::dbe_log));  // 2.1 from the 0 last logged
  CHECK(step(2.1) == 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(step(nan) == (ca::dbe_value | ca::dbe_log));  // to NaN always counts
  CHECK(step(nan) == 0);                             // NaN again is no change
  CHECK(step(1.0) == (ca::dbe_value | ca::dbe_log));

  // Negative: every reading, changed or not; text compares by equality.
  ca::Value same = v(7);
  ca_pv::LastPosted every{same.elements, same.elements};
  CHECK(ca_pv::events_for(every, same, same, -1, 0) == ca::dbe_value);
  const ca::Value t1 = ca_pv::to_ca(ca_pv_reading(std::string("a")), ca::ValueType::string);
  const ca::Value t2 = ca_pv::to_ca(ca_pv_reading(std::string("b")), ca::ValueType::string);
  ca_pv::LastPosted text{t1.elements, t1.elements};
  CHECK(ca_pv::events_for(text, t1, t1, 5, 5) == 0);
  CHECK(ca_pv::events_for(text, t1, t2, 5, 5) == (ca::dbe_value | ca::dbe_log));
}

TEST_CASE("ca pv an array reading is a DOUBLE array of its elements", "[ca][pv]") {
  const weft::Value array = weft::NumberArray(std::vector<double>{1.5, -2, 3});
  CHECK(ca_pv::native_type(array) == ca::ValueType::float64);
  const ca::Value v = ca_pv::to_ca(ca_pv_reading(array), ca::ValueType::float64);
  CHECK(std::get<std::vector<double>>(v.elements) == std::vector<double>{1.5, -2, 3});
  CHECK(v.alarm == ca::Alarm{});
  CHECK(std::get<std::vector<double>>(ca_pv::to_ca(ca_pv_reading(weft::NumberArray()), ca::ValueType::float64).elements)
            .empty());
}

TEST_CASE("ca pv an array PV encodes in every DBR family and type, padded to a fixed count", "[ca][pv]") {
  ca::Value v = ca_pv::to_ca(ca_pv_reading(weft::NumberArray(std::vector<double>{1.5, -2, 3})), ca::ValueType::float64);
  PointInfo info;
  info.unit = "mm";
  info.precision = 2;
  ca_pv::apply_point_info(v, info);
  const ca::Limits limits;
  for (std::uint16_t family = 0; family <= 4; ++family) {
    for (std::uint16_t type = 0; type <= 6; ++type) {
      const std::uint16_t code = ca::dbr_code(static_cast<ca::Family>(family), static_cast<ca::ValueType>(type));
      INFO(ca::dbr_name(code));
      for (const std::uint32_t count : {3u, 5u}) {
        const auto encoded = ca::encode_dbr(code, count, v, limits);
        REQUIRE(std::holds_alternative<std::vector<std::uint8_t>>(encoded));
        const auto& bytes = std::get<std::vector<std::uint8_t>>(encoded);
        CHECK(bytes.size() == ca::dbr_payload_size(code, count));
        const auto decoded = ca::decode_dbr(code, count, bytes, limits);
        REQUIRE(std::holds_alternative<ca::Decoded>(decoded));
        const ca::Value& back = std::get<ca::Decoded>(decoded).value;
        if (type == 0) {
          const std::vector<std::string> want3{"1.50", "-2.00", "3.00"};
          auto texts = std::get<std::vector<std::string>>(back.elements);
          CHECK(std::vector<std::string>(texts.begin(), texts.begin() + 3) == want3);
          if (count == 5) CHECK(texts[4] == "");  // padding: an empty string, as zero bytes
        } else {
          const auto vt = static_cast<ca::ValueType>(type);
          const bool floating = vt == ca::ValueType::float32 || vt == ca::ValueType::float64;
          const bool is_unsigned = vt == ca::ValueType::uint8 || vt == ca::ValueType::enumerated;
          // integers truncate 1.5; CHAR and ENUM are unsigned: -2 saturates to 0
          std::vector<double> want{floating ? 1.5 : 1.0, is_unsigned ? 0.0 : -2.0, 3};
          if (count == 5) want.insert(want.end(), {0, 0});  // zeros past the length
          CHECK(std::get<std::vector<double>>(back.elements) == want);
        }
        if (family == 4 && type == 6) {
          CHECK(back.meta.units == "mm");
          CHECK(back.meta.precision == std::optional<std::int16_t>(2));
        }
      }
    }
  }
  // DBR_STRING holds 40 bytes an element: 16384 bytes take 409 of them, more is too large (ECA_TOLARGE).
  std::vector<double> many(500, 1.0);
  const ca::Value big = ca_pv::to_ca(ca_pv_reading(weft::NumberArray(many)), ca::ValueType::float64);
  CHECK(std::holds_alternative<std::vector<std::uint8_t>>(ca::encode_dbr(0, 409, big, limits)));
  const auto refused = ca::encode_dbr(0, 410, big, limits);
  REQUIRE(std::holds_alternative<ca::Error>(refused));
  CHECK(std::get<ca::Error>(refused).code == ca::errc::too_large);
}

TEST_CASE("ca pv array deadbands: a new length, or any element beyond it", "[ca][pv]") {
  auto v = [](std::vector<double> x) {
    return ca_pv::to_ca(ca_pv_reading(weft::NumberArray(x)), ca::ValueType::float64);
  };
  ca::Value before = v({0, 0, 0});
  ca_pv::LastPosted last{before.elements, before.elements};
  auto step = [&](std::vector<double> x) {
    const ca::Value next = v(std::move(x));
    const std::uint16_t e = ca_pv::events_for(last, before, next, 0.5, 2);
    before = next;
    return e;
  };
  CHECK(step({0.3, 0.5, -0.5}) == 0);                     // every element within both deadbands
  CHECK(step({0, 0, 0.6}) == ca::dbe_value);              // one element beyond mdel from the last sent
  CHECK(step({0, 0.4, 0.6}) == 0);                        // 0.4 from the 0 sent: within
  CHECK(step({0, 0.4}) == (ca::dbe_value | ca::dbe_log));  // shorter: a change whatever the elements
  CHECK(step({0, 0.4}) == 0);
  CHECK(step({2.5, 0.4}) == (ca::dbe_value | ca::dbe_log));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(step({2.5, nan}) == (ca::dbe_value | ca::dbe_log));  // to NaN always counts
  CHECK(step({2.5, nan}) == 0);                              // NaN again is no change
  ca::Value same = v({1, 2});
  ca_pv::LastPosted every{same.elements, same.elements};
  CHECK(ca_pv::events_for(every, same, same, -1, 0) == ca::dbe_value);  // negative: every reading
}

TEST_CASE("ca pv metadata and limit alarms from the point's description", "[ca][pv]") {
  PointInfo info;
  info.unit = "bar";
  info.precision = 2;
  info.display_low = 0;
  info.display_high = 10;
  info.high = 8;
  info.hihi = 9;
  info.low = 2;
  info.lolo = 1;
  ca::Value v = ca_pv::to_ca(ca_pv_reading(5.0), ca::ValueType::float64);
  ca_pv::apply_point_info(v, info);
  CHECK(v.meta.units == "bar");
  CHECK(v.meta.precision == std::optional<std::int16_t>(2));
  CHECK(v.meta.upper_disp == 10);
  CHECK(v.meta.lower_disp == 0);
  CHECK(v.meta.upper_alarm == 9);
  CHECK(v.meta.upper_warning == 8);
  CHECK(v.meta.lower_warning == 2);
  CHECK(v.meta.lower_alarm == 1);
  CHECK(v.meta.upper_ctrl == 10);  // no control limits: the display limits
  CHECK(v.meta.lower_ctrl == 0);
  CHECK(v.alarm == ca::Alarm{});
  info.control_low = 3;
  info.control_high = 7;
  ca_pv::apply_point_info(v, info);
  CHECK(v.meta.upper_ctrl == 7);
  CHECK(v.meta.lower_ctrl == 3);

  auto alarm_at = [&](double x, Quality q = Quality::good) {
    ca::Value a = ca_pv::to_ca(ca_pv_reading(x, q), ca::ValueType::float64);
    ca_pv::apply_point_info(a, info);
    return a.alarm;
  };
  CHECK(alarm_at(9) == ca::Alarm{ca::Status::hihi, ca::Severity::major});  // at the limit, as EPICS
  CHECK(alarm_at(8.5) == ca::Alarm{ca::Status::high, ca::Severity::minor});
  CHECK(alarm_at(7.99) == ca::Alarm{});
  CHECK(alarm_at(2) == ca::Alarm{ca::Status::low, ca::Severity::minor});
  CHECK(alarm_at(0.5) == ca::Alarm{ca::Status::lolo, ca::Severity::major});
  // A bad reading's alarm is not hidden by the limits.
  CHECK(alarm_at(9.5, Quality::comm_error) == ca::Alarm{ca::Status::comm, ca::Severity::invalid});

  // Unset alarm limits go out as NaN (EPICS 7); an integer PV gets no PREC.
  ca::Value plain = ca_pv::to_ca(ca_pv_reading(std::int64_t{4}), ca::ValueType::int32);
  PointInfo rpm;
  rpm.unit = "rpm";
  rpm.precision = 3;
  ca_pv::apply_point_info(plain, rpm);
  CHECK(plain.meta.units == "rpm");
  CHECK(!plain.meta.precision);
  CHECK(std::isnan(plain.meta.upper_alarm));
  CHECK(std::isnan(plain.meta.lower_alarm));
  CHECK(plain.alarm == ca::Alarm{});
}

TEST_CASE("ca pv record fields: types, values, events", "[ca][pv]") {
  CHECK(ca_pv::parse_field("VAL") == ca_pv::Field::val);
  CHECK(ca_pv::parse_field("EGU") == ca_pv::Field::egu);
  CHECK(ca_pv::parse_field("STAT") == ca_pv::Field::stat);
  CHECK(!ca_pv::parse_field("SCAN"));  // not served
  CHECK(!ca_pv::parse_field("egu"));

  PointInfo info;
  info.unit = "bar";
  info.precision = 3;
  info.description = "boiler pressure";
  info.display_high = 10;
  info.high = 8;
  ca::Value pv = ca_pv::to_ca(ca_pv_reading(8.5), ca::ValueType::float64);
  ca_pv::apply_point_info(pv, info);
  auto field = [&](ca_pv::Field f) { return ca_pv::field_value(f, pv, "box:line1:temp", &info); };
  auto text = [](const ca::Value& v) { return std::get<std::vector<std::string>>(v.elements).front(); };
  auto number = [](const ca::Value& v) { return std::get<std::vector<double>>(v.elements).front(); };

  CHECK(field(ca_pv::Field::egu).type == ca::ValueType::string);
  CHECK(text(field(ca_pv::Field::egu)) == "bar");
  CHECK(text(field(ca_pv::Field::desc)) == "boiler pressure");
  CHECK(text(field(ca_pv::Field::name)) == "box:line1:temp");
  CHECK(field(ca_pv::Field::prec).type == ca::ValueType::int16);
  CHECK(number(field(ca_pv::Field::prec)) == 3);
  CHECK(field(ca_pv::Field::hopr).type == ca::ValueType::float64);
  CHECK(number(field(ca_pv::Field::hopr)) == 10);
  CHECK(number(field(ca_pv::Field::lopr)) == 0);
  CHECK(number(field(ca_pv::Field::high)) == 8);
  CHECK(std::isnan(number(field(ca_pv::Field::hihi))));  // unset
  const ca::Value sevr = field(ca_pv::Field::sevr);
  CHECK(sevr.type == ca::ValueType::enumerated);
  CHECK(number(sevr) == 1);  // 8.5 is above high: MINOR
  CHECK(sevr.meta.enum_strings == std::vector<std::string>{"NO_ALARM", "MINOR", "MAJOR", "INVALID"});
  const ca::Value stat = field(ca_pv::Field::stat);
  CHECK(number(stat) == 4);
  CHECK(stat.meta.enum_strings.size() == 22);
  CHECK(stat.meta.enum_strings[4] == "HIGH");
  CHECK(stat.meta.enum_strings[17] == "UDF");
  CHECK(field(ca_pv::Field::egu).alarm == pv.alarm);  // any field carries the record's alarm and stamp
  CHECK(field(ca_pv::Field::egu).stamp == pv.stamp);
  CHECK(ca_pv::field_value(ca_pv::Field::desc, pv, "x", nullptr).elements == ca::Elements{std::vector<std::string>{""}});

  CHECK(ca_pv::field_events(ca_pv::Field::val, ca::dbe_value) == ca::dbe_value);
  CHECK(ca_pv::field_events(ca_pv::Field::sevr, ca::dbe_value | ca::dbe_log) == 0);
  CHECK(ca_pv::field_events(ca_pv::Field::sevr, ca::dbe_alarm) == (ca::dbe_value | ca::dbe_log | ca::dbe_alarm));
  CHECK(ca_pv::field_events(ca_pv::Field::egu, ca::dbe_alarm) == 0);
  CHECK(ca_pv::field_events(ca_pv::Field::egu, ca::dbe_property) ==
        (ca::dbe_value | ca::dbe_log | ca::dbe_property));
  CHECK(ca_pv::field_events(ca_pv::Field::name, 0xF) == 0);
}

TEST_CASE("ca pv state names make an ENUM", "[ca][pv]") {
  PointInfo info;
  info.states = {"off", "on"};
  CHECK(ca_pv::native_type(weft::Value{true}, &info) == ca::ValueType::enumerated);
  CHECK(ca_pv::native_type(weft::Value{2.0}, &info) == ca::ValueType::enumerated);  // a register holding a mode
  CHECK(ca_pv::native_type(weft::Value{2.0}, nullptr) == ca::ValueType::float64);
  CHECK(ca_pv::native_type(weft::Value{std::string("x")}, &info) == ca::ValueType::string);
  ca::Value b = ca_pv::to_ca(ca_pv_reading(true), ca::ValueType::enumerated);
  ca_pv::apply_point_info(b, info);
  CHECK(b.meta.enum_strings == std::vector<std::string>{"off", "on"});
  ca::Value d = ca_pv::to_ca(ca_pv_reading(1.5), ca::ValueType::float64);
  ca_pv::apply_point_info(d, info);
  CHECK(d.meta.enum_strings.empty());  // only an ENUM carries state names
}

}  // namespace weft::apps

namespace weft::apps {

// EPICS base (db_access.c, DBR_CTRL_ENUM): a menu field's strings are cut
// to the first MAX_ENUM_STATES (16) with no_str 16; a DBR_STRING read of
// the field (dbGet of a DBF_MENU) names its state whatever its index. .STAT
// has 22: UDF (17) has no string in DBR_CTRL_ENUM but reads "UDF" as text.
TEST_CASE("ca pv .STAT: DBR_CTRL_ENUM carries its first 16 menu strings, DBR_STRING names all 22", "[ca][pv]") {
  ca::Value pv = ca_pv::to_ca(ca_pv_reading(1.0), ca::ValueType::float64);
  pv.alarm = {ca::Status::udf, ca::Severity::invalid};
  const ca::Value stat = ca_pv::field_value(ca_pv::Field::stat, pv, "box:t", nullptr);
  const ca::Limits limits;
  constexpr std::uint16_t dbr_string = 0, dbr_ctrl_enum = 31;
  const auto ctrl = ca::encode_dbr(dbr_ctrl_enum, 1, stat, limits);
  REQUIRE(std::holds_alternative<std::vector<std::uint8_t>>(ctrl));
  const auto& ctrl_bytes = std::get<std::vector<std::uint8_t>>(ctrl);
  CHECK(((ctrl_bytes[4] << 8) | ctrl_bytes[5]) == 16);  // no_str
  const auto back = ca::decode_dbr(dbr_ctrl_enum, 1, ctrl_bytes, limits);
  REQUIRE(std::holds_alternative<ca::Decoded>(back));
  const ca::Decoded& d = std::get<ca::Decoded>(back);
  REQUIRE(d.value.meta.enum_strings.size() == 16);
  CHECK(d.value.meta.enum_strings[0] == "NO_ALARM");
  CHECK(d.value.meta.enum_strings[15] == "SOFT");
  CHECK(std::get<std::vector<double>>(d.value.elements).front() == 17);
  const auto text = ca::encode_dbr(dbr_string, 1, stat, limits);
  REQUIRE(std::holds_alternative<std::vector<std::uint8_t>>(text));
  const auto as_text = ca::decode_dbr(dbr_string, 1, std::get<std::vector<std::uint8_t>>(text), limits);
  REQUIRE(std::holds_alternative<ca::Decoded>(as_text));
  CHECK(std::get<std::vector<std::string>>(std::get<ca::Decoded>(as_text).value.elements).front() == "UDF");
}

}  // namespace weft::apps
