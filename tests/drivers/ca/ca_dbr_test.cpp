// Tests of the DBR codec: the layout table against the sizes libca reports
// (channel-access.md §5.2), exact payload bytes for TIME_DOUBLE, GR_DOUBLE
// and CTRL_ENUM, an encode -> decode round trip of every code 0..38 from every
// native type (values, alarm, time stamp, metadata cast to the requested
// type), libca's conversions (enum <-> state names, numbers <-> decimal text),
// and hostile payloads: huge counts, short payloads, strings, units and enum
// states without a NUL, more than 16 states, an over-long scalar string.
#include "weft/drivers/ca/dbr.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>

// Inside weft::ca, not `using namespace`: in a unity batch another file's
// using-directive would make names like Value or Error ambiguous.
namespace weft::ca {

using Catch::Matchers::Contains;
using CaDbrBytes = std::vector<std::uint8_t>;

namespace {

const Limits ca_dbr_limits{};

Metadata ca_dbr_meta() {
  Metadata m;
  m.units = "degC";
  m.precision = 2;
  m.upper_disp = 100;
  m.lower_disp = 1;
  m.upper_alarm = 90;
  m.upper_warning = 80;
  m.lower_warning = 20;
  m.lower_alarm = 10;
  m.upper_ctrl = 95;
  m.lower_ctrl = 5;
  m.enum_strings = {"zero", "one", "two", "three"};
  return m;
}

Value ca_dbr_value(ValueType native) {
  Value v;
  v.type = native;
  if (native == ValueType::string) {
    v.elements = std::vector<std::string>{"1", "2", "3"};
  } else {
    v.elements = std::vector<double>{1, 2, 3};
  }
  v.alarm = {Status::high, Severity::minor};
  v.stamp = {1'000'000'000u, 123'456'789u};
  v.meta = ca_dbr_meta();
  return v;
}

CaDbrBytes ca_dbr_encode(std::uint16_t code, std::uint32_t count, const Value& v) {
  auto r = encode_dbr(code, count, v, ca_dbr_limits);
  if (auto* e = std::get_if<Error>(&r)) FAIL(dbr_name(code) << ": " << e->message());
  return std::get<CaDbrBytes>(r);
}

Decoded ca_dbr_decode(std::uint16_t code, std::uint32_t count, const CaDbrBytes& payload) {
  auto r = decode_dbr(code, count, payload, ca_dbr_limits);
  if (auto* e = std::get_if<Error>(&r)) FAIL(dbr_name(code) << ": " << e->message());
  return std::get<Decoded>(r);
}

Error ca_dbr_decode_error(std::uint16_t code, std::uint32_t count, const CaDbrBytes& payload) {
  auto r = decode_dbr(code, count, payload, ca_dbr_limits);
  REQUIRE(std::holds_alternative<Error>(r));
  return std::get<Error>(r);
}

}  // namespace

TEST_CASE("ca dbr layouts match libca's dbr_size and dbr_value_offset tables", "[ca][dbr]") {
  // dbr_size (metadata + one element) for codes 0..38, from Debian 12's libca.
  constexpr std::array<std::size_t, 39> dbr_size = {
      40, 2,  4,  2,  1,  4,  8,                 // plain
      44, 6,  8,  6,  6,  8,  16,                // STS
      52, 16, 16, 16, 16, 16, 24,                // TIME
      44, 26, 44, 424, 20, 40, 72,               // GR
      44, 30, 52, 424, 22, 48, 88,               // CTRL
      2,  2,  48, 40,                            // PUT_ACKT, PUT_ACKS, STSACK_STRING, CLASS_NAME
  };
  for (std::uint16_t code = 0; code <= dbr_last_type; ++code) {
    INFO(dbr_name(code));
    const auto layout = dbr_layout(code);
    REQUIRE(layout);
    CHECK(layout->value_offset + layout->value_size == dbr_size[code]);
    CHECK(dbr_payload_size(code, 1) == dbr_size[code]);
  }
  CHECK_FALSE(dbr_layout(39));
  CHECK_FALSE(dbr_payload_size(0xFFFF, 1));
  CHECK(dbr_payload_size(20, 3) == 40u);  // 3-element TIME_DOUBLE: 16 + 24
  CHECK(dbr_name(20) == "DBR_TIME_DOUBLE");
  CHECK(dbr_name(29) == "DBR_CTRL_SHORT");
  CHECK(dbr_name(37) == "DBR_STSACK_STRING");
  CHECK(dbr_name(77) == "DBR_?(77)");
  CHECK(dbr_code(Family::ctrl, ValueType::float64) == 34);
}

TEST_CASE("ca dbr TIME_DOUBLE 1.5 has caget's bytes", "[ca][dbr]") {
  Value v;
  v.type = ValueType::float64;
  v.elements = std::vector<double>{1.5};
  v.stamp = {0x01020304, 0x05060708};
  const CaDbrBytes expected = {0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                               0x00, 0x00, 0x00, 0x00, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  CHECK(ca_dbr_encode(20, 1, v) == expected);
}

TEST_CASE("ca dbr GR_DOUBLE and CTRL_ENUM put every field at its offset", "[ca][dbr]") {
  const Value v = ca_dbr_value(ValueType::float64);
  const CaDbrBytes gr = ca_dbr_encode(27, 1, v);
  REQUIRE(gr.size() == 72);
  CHECK(gr[1] == 4);  // status HIGH
  CHECK(gr[3] == 1);  // severity MINOR
  CHECK(gr[5] == 2);  // precision
  CHECK(std::memcmp(&gr[8], "degC\0\0\0\0", 8) == 0);
  CHECK(gr[16] == 0x40);  // upper_disp 100.0 = 0x4059000000000000
  CHECK(gr[17] == 0x59);
  CHECK(gr[64] == 0x3f);  // value 1.0 = 0x3ff0000000000000
  CHECK(gr[65] == 0xf0);

  Value e = ca_dbr_value(ValueType::enumerated);
  e.elements = std::vector<double>{2};
  const CaDbrBytes ctrl = ca_dbr_encode(31, 1, e);
  REQUIRE(ctrl.size() == 424);
  CHECK(ctrl[5] == 4);  // no_str
  CHECK(std::memcmp(&ctrl[6], "zero", 5) == 0);
  CHECK(std::memcmp(&ctrl[6 + 26], "one", 4) == 0);
  CHECK(std::memcmp(&ctrl[6 + 3 * 26], "three", 6) == 0);
  CHECK(ctrl[6 + 4 * 26] == 0);
  CHECK(ctrl[422] == 0);
  CHECK(ctrl[423] == 2);
}

TEST_CASE("ca dbr every code round-trips from every native type", "[ca][dbr]") {
  for (std::uint16_t native = 0; native <= 6; ++native) {
    const Value v = ca_dbr_value(static_cast<ValueType>(native));
    for (std::uint16_t code = 0; code <= dbr_last_type; ++code) {
      if (code == dbr_put_ackt || code == dbr_put_acks) continue;  // write-only
      INFO("native " << to_string(v.type) << ", requested " << dbr_name(code));
      const auto layout = *dbr_layout(code);
      const CaDbrBytes payload = ca_dbr_encode(code, 3, v);
      CHECK(payload.size() == layout.value_offset + 3 * layout.value_size);
      const Decoded d = ca_dbr_decode(code, 3, payload);
      CHECK(d.value.type == layout.value_type);
      if (code == dbr_class_name) {
        CHECK(std::get<std::vector<std::string>>(d.value.elements)[0] == "weft");
        continue;
      }
      const auto expected = convert_elements(v.elements, v.type, layout.value_type, v.meta);
      REQUIRE(std::holds_alternative<Elements>(expected));
      CHECK(d.value.elements == std::get<Elements>(expected));
      if (layout.family != Family::plain) CHECK(d.value.alarm == v.alarm);
      if (layout.family == Family::time) CHECK(d.value.stamp == v.stamp);
      if (layout.family != Family::gr && layout.family != Family::ctrl) continue;
      const Metadata& m = d.value.meta;
      switch (layout.value_type) {
        case ValueType::string: CHECK(m == Metadata{}); break;
        case ValueType::enumerated: CHECK(m.enum_strings == v.meta.enum_strings); break;
        default:
          CHECK(m.units == "degC");
          if (layout.value_type == ValueType::float32 || layout.value_type == ValueType::float64) {
            CHECK(m.precision == std::optional<std::int16_t>(2));
          } else {
            CHECK_FALSE(m.precision);
          }
          CHECK(m.upper_disp == 100);
          CHECK(m.lower_disp == 1);
          CHECK(m.upper_alarm == 90);
          CHECK(m.upper_warning == 80);
          CHECK(m.lower_warning == 20);
          CHECK(m.lower_alarm == 10);
          CHECK(m.upper_ctrl == (layout.family == Family::ctrl ? 95 : 0));
          CHECK(m.lower_ctrl == (layout.family == Family::ctrl ? 5 : 0));
      }
    }
  }
}

TEST_CASE("ca dbr conversions are libca's: state names, precision, decimal text", "[ca][dbr]") {
  Value e = ca_dbr_value(ValueType::enumerated);
  e.elements = std::vector<double>{1, 7};  // 7 has no state name
  const Decoded as_text = ca_dbr_decode(14, 2, ca_dbr_encode(14, 2, e));  // caget reads enums as TIME_STRING
  CHECK(std::get<std::vector<std::string>>(as_text.value.elements) == std::vector<std::string>{"one", "7"});

  const Value d = ca_dbr_value(ValueType::float64);
  const Decoded d_text = ca_dbr_decode(0, 3, ca_dbr_encode(0, 3, d));
  CHECK(std::get<std::vector<std::string>>(d_text.value.elements) == std::vector<std::string>{"1.00", "2.00", "3.00"});

  // Text PV read as a number: decimal only. "100w" is not 256 (ca-gateway #37), "0x10" not 16.
  Value t;
  t.type = ValueType::string;
  t.elements = std::vector<std::string>{"100w"};
  auto bad = encode_dbr(6, 1, t, ca_dbr_limits);
  REQUIRE(std::holds_alternative<Error>(bad));
  CHECK(std::get<Error>(bad).code == errc::no_convert);
  CHECK_THAT(std::get<Error>(bad).message(), Contains("\"100w\" is not a decimal DOUBLE"));
  CHECK(to_eca(std::get<Error>(bad).code) == Eca::noconvert);
  t.elements = std::vector<std::string>{"0x10"};
  CHECK(std::holds_alternative<Error>(encode_dbr(5, 1, t, ca_dbr_limits)));
  t.elements = std::vector<std::string>{" 12.75 "};
  CHECK(std::get<std::vector<double>>(ca_dbr_decode(5, 1, ca_dbr_encode(5, 1, t)).value.elements)[0] == 12);
  CHECK(std::get<std::vector<double>>(ca_dbr_decode(6, 1, ca_dbr_encode(6, 1, t)).value.elements)[0] == 12.75);

  // Writes: caput sends DBR_STRING; to an enum by state name first, then by index.
  const Metadata meta = ca_dbr_meta();
  const auto by_name = convert_elements(Elements{std::vector<std::string>{"two", "3", "one"}}, ValueType::string,
                                        ValueType::enumerated, meta);
  CHECK(std::get<Elements>(by_name) == Elements{std::vector<double>{2, 3, 1}});
  CHECK(std::holds_alternative<Error>(
      convert_elements(Elements{std::vector<std::string>{"four"}}, ValueType::string, ValueType::enumerated, meta)));
  // Out of range for the target: refused from text, saturated from numbers.
  CHECK(std::holds_alternative<Error>(
      convert_elements(Elements{std::vector<std::string>{"70000"}}, ValueType::string, ValueType::int16, meta)));
  CHECK(std::get<Elements>(convert_elements(Elements{std::vector<double>{70000, -1e300, std::nan("")}},
                                            ValueType::float64, ValueType::int16, meta)) ==
        Elements{std::vector<double>{32767, -32768, 0}});
  CHECK(std::get<Elements>(convert_elements(Elements{std::vector<double>{300, -5}}, ValueType::float64,
                                            ValueType::uint8, meta)) == Elements{std::vector<double>{255, 0}});
}

TEST_CASE("ca dbr count semantics: zero-fill past the data, count 0 is metadata only", "[ca][dbr]") {
  const Value v = ca_dbr_value(ValueType::int32);
  const Decoded five = ca_dbr_decode(19, 5, ca_dbr_encode(19, 5, v));
  CHECK(std::get<std::vector<double>>(five.value.elements) == std::vector<double>{1, 2, 3, 0, 0});
  CHECK(ca_dbr_encode(19, 0, v).size() == 12);
  CHECK(ca_dbr_encode(19, 1, v).size() == 16);
}

TEST_CASE("ca dbr short scalar string writes (epics-base #943)", "[ca][dbr]") {
  // caput "abc": strlen + 1 = 4 bytes, padded to 8.
  const CaDbrBytes abc = {'a', 'b', 'c', 0, 0, 0, 0, 0};
  CHECK(std::get<std::vector<std::string>>(ca_dbr_decode(0, 1, abc).value.elements)[0] == "abc");
  const Error no_nul = ca_dbr_decode_error(0, 1, CaDbrBytes(8, 'x'));
  CHECK(no_nul.code == errc::unterminated_string);
  CHECK_THAT(no_nul.message(), Contains("DBR_STRING element 0 has no NUL within its 8-byte field"));
  CHECK(ca_dbr_decode_error(0, 1, {}).code == errc::short_payload);
  // Arrays of strings must be whole.
  CHECK(ca_dbr_decode_error(0, 2, CaDbrBytes(48, 0)).code == errc::short_payload);
}

TEST_CASE("ca dbr refuses hostile payloads with what was wrong", "[ca][dbr][hostile]") {
  const Error huge = ca_dbr_decode_error(6, 0xFFFFFFFF, CaDbrBytes(64, 0));
  CHECK(huge.code == errc::too_large);
  CHECK_THAT(huge.message(), Contains("DBR_DOUBLE x 4294967295") && Contains("max_array_bytes 16384"));

  const Error short_time = ca_dbr_decode_error(20, 3, CaDbrBytes(24, 0));
  CHECK(short_time.code == errc::short_payload);
  CHECK_THAT(short_time.message(), Contains("DBR_TIME_DOUBLE x 3 needs 40 bytes, the payload has 24"));

  CHECK(ca_dbr_decode_error(39, 1, CaDbrBytes(64, 0)).code == errc::bad_type);
  CHECK(ca_dbr_decode_error(0xFFFF, 1, CaDbrBytes(64, 0)).code == errc::bad_type);

  const Error string_field = ca_dbr_decode_error(7, 1, CaDbrBytes(48, 'x'));
  CHECK(string_field.code == errc::unterminated_string);
  CHECK_THAT(string_field.message(), Contains("40-byte field"));

  CaDbrBytes units = ca_dbr_encode(27, 1, ca_dbr_value(ValueType::float64));
  std::fill(units.begin() + 8, units.begin() + 16, 'u');
  CHECK_THAT(ca_dbr_decode_error(27, 1, units).message(), Contains("units has no NUL"));

  Value e = ca_dbr_value(ValueType::enumerated);
  CaDbrBytes states = ca_dbr_encode(31, 1, e);
  states[5] = 17;
  const Error many = ca_dbr_decode_error(31, 1, states);
  CHECK(many.code == errc::bad_count);
  CHECK_THAT(many.message(), Contains("enum state count 17 above 16"));
  states[5] = 4;
  std::fill(states.begin() + 6 + 26, states.begin() + 6 + 52, 's');
  CHECK_THAT(ca_dbr_decode_error(31, 1, states).message(), Contains("enum state string 1 has no NUL"));

  // Encoding a client's huge count is refused, not allocated.
  auto alloc = encode_dbr(6, 0x40000000, ca_dbr_value(ValueType::float64), ca_dbr_limits);
  REQUIRE(std::holds_alternative<Error>(alloc));
  CHECK(std::get<Error>(alloc).code == errc::too_large);
  CHECK(std::holds_alternative<Error>(encode_dbr(dbr_put_ackt, 1, ca_dbr_value(ValueType::float64), ca_dbr_limits)));
}

TEST_CASE("ca dbr strings longer than 39 characters are cut, never unterminated", "[ca][dbr]") {
  Value t;
  t.type = ValueType::string;
  t.elements = std::vector<std::string>{std::string(60, 'z')};
  t.meta.units = "a-very-long-unit";
  const CaDbrBytes payload = ca_dbr_encode(0, 1, t);
  CHECK(payload[39] == 0);
  CHECK(std::get<std::vector<std::string>>(ca_dbr_decode(0, 1, payload).value.elements)[0] == std::string(39, 'z'));
  Value d = ca_dbr_value(ValueType::float64);
  d.meta.units = "a-very-long-unit";
  CHECK(ca_dbr_decode(34, 1, ca_dbr_encode(34, 1, d)).value.meta.units == "a-very-");
}

}  // namespace weft::ca
