// Tests of how points look as PVs: the name mapping ("{device}:{point}", '.'
// to ':'), field suffixes, native types per value kind, quality as alarm
// (comm-error INVALID/COMM, stale INVALID/TIMEOUT), the wall time as an EPICS
// stamp, and which changes raise which DBE events.
#include "weft/apps/ca/ca_pv.hpp"

#include <catch2/catch.hpp>

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
  CHECK(ca_pv::events_between(a, a) == 0);
  const ca::Value b = ca_pv::to_ca(ca_pv_reading(2.0), ca::ValueType::float64);
  CHECK(ca_pv::events_between(a, b) == (ca::dbe_value | ca::dbe_log));
  const ca::Value c = ca_pv::to_ca(ca_pv_reading(2.0, Quality::comm_error), ca::ValueType::float64);
  CHECK(ca_pv::events_between(b, c) == ca::dbe_alarm);
}

}  // namespace weft::apps
