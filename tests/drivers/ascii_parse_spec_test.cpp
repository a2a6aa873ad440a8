// Proves ParseSpec on known lines of each kind (NMEA sentences with published
// checksums, key/value and CSV variants), that each error comes back as its code with
// a message quoting the escaped line, that unconfigured sentences are ignored rather
// than errors, that any single corrupted byte of a sentence is caught, and that specs
// which cannot work are refused when built. parse_spec.hpp is included first.
#include "weft/drivers/ascii/parse_spec.hpp"

#include <catch2/catch.hpp>

#include <cstdio>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using weft::ascii::Column;
using weft::ascii::FieldType;
using weft::ascii::KeyField;
using weft::ascii::KeyValueOptions;
using weft::ascii::NamedValue;
using weft::ascii::nmea_checksum;
using weft::ascii::NmeaField;
using weft::ascii::ParseCode;
using AsciiParseResult = weft::ascii::ParseResult;
using weft::ascii::ParseSpec;

namespace Catch {
template <>
struct StringMaker<weft::ascii::NamedValue> {
  static std::string convert(const weft::ascii::NamedValue& v) {
    return v.name + "=" + weft::to_string(v.value) + " (type " + std::to_string(v.value.index()) + ")";
  }
};
}  // namespace Catch

namespace {

const std::string gga = "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47";
const std::string rmc = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A";

// "$" + body + "*HH" with the right checksum.
std::string sentence(const std::string& body) {
  char hh[3];
  std::snprintf(hh, sizeof hh, "%02X", nmea_checksum(body));
  return "$" + body + "*" + hh;
}

std::optional<weft::Value> value_of(const AsciiParseResult& r, std::string_view name) {
  for (const auto& v : r.values) {
    if (v.name == name) return v.value;
  }
  return std::nullopt;
}

ParseSpec gps_spec(bool require_checksum = true) {
  return ParseSpec::nmea({{"GPGGA", 1, "time", FieldType::text},
                          {"GPGGA", 2, "latitude"},
                          {"GPGGA", 3, "lat_hemisphere", FieldType::text},
                          {"GPGGA", 7, "satellites", FieldType::integer},
                          {"GPGGA", 9, "altitude"},
                          {"GPGGA", 13, "dgps_age", FieldType::number, true},
                          {"RMC", 7, "speed_knots"}},
                         require_checksum);
}

}  // namespace

TEST_CASE("ascii parse: kinds by name", "[ascii][parse]") {
  CHECK(ParseSpec::kind_from_string("kv") == ParseSpec::Kind::key_value);
  CHECK(ParseSpec::kind_from_string("csv") == ParseSpec::Kind::csv);
  CHECK(ParseSpec::kind_from_string("nmea") == ParseSpec::Kind::nmea);
  CHECK(ParseSpec::kind_from_string("NMEA") == std::nullopt);
  CHECK(ParseSpec::kind_from_string("") == std::nullopt);
  for (const auto kind : {ParseSpec::Kind::key_value, ParseSpec::Kind::csv, ParseSpec::Kind::nmea}) {
    CHECK(ParseSpec::kind_from_string(ParseSpec::to_string(kind)) == kind);
  }
  CHECK(ParseSpec::key_value({}).kind() == ParseSpec::Kind::key_value);
  CHECK(ParseSpec::csv({{0, "a"}}).kind() == ParseSpec::Kind::csv);
  CHECK(gps_spec().kind() == ParseSpec::Kind::nmea);
  CHECK_FALSE(weft::ascii::is_error(ParseCode::unknown_sentence));
  CHECK(weft::ascii::is_error(ParseCode::empty_line));
}

TEST_CASE("ascii parse: NMEA known sentences", "[ascii][parse][nmea]") {
  CHECK(nmea_checksum("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") == 0x47);
  CHECK(sentence("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W") == rmc);
  const ParseSpec spec = gps_spec();

  SECTION("GGA: selected fields, typed; an empty field is absent") {
    const AsciiParseResult r = spec.parse(gga);
    REQUIRE(r.ok());
    CHECK(r.message.empty());
    CHECK(r.values == std::vector<NamedValue>{{"time", std::string("123519")},
                                              {"latitude", 4807.038},
                                              {"lat_hemisphere", std::string("N")},
                                              {"satellites", std::int64_t{8}},
                                              {"altitude", 545.4}});
    CHECK_FALSE(value_of(r, "dgps_age"));
  }
  SECTION("a 3-letter formatter matches any talker; a checksum in lowercase is accepted") {
    const AsciiParseResult r = spec.parse("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6a");
    REQUIRE(r.ok());
    CHECK(r.values == std::vector<NamedValue>{{"speed_knots", 22.4}});
    const AsciiParseResult gn = spec.parse(sentence("GNRMC,1,A,1,N,1,E,3.5,0,1,0,W"));
    REQUIRE(gn.ok());
    CHECK(gn.values == std::vector<NamedValue>{{"speed_knots", 3.5}});
    // ...but a full address matches only itself
    CHECK(spec.parse(sentence("GNGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")).ignored());
  }
  SECTION("no fix: empty fields are absent, not zero") {
    const AsciiParseResult r = spec.parse(sentence("GPGGA,123519,,,,,0,00,,,M,,M,,"));
    REQUIRE(r.ok());
    CHECK(r.values == std::vector<NamedValue>{{"time", std::string("123519")}, {"satellites", std::int64_t{0}}});
  }
  SECTION("surrounding blanks and a stray CR are ignored") {
    CHECK(spec.parse("  " + gga + "\r").ok());
  }
  SECTION("an unconfigured sentence is ignored, not an error") {
    const AsciiParseResult r = spec.parse(sentence("GPGSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45"));
    CHECK(r.ignored());
    CHECK_FALSE(r.error());
    CHECK(r.code == ParseCode::unknown_sentence);
    CHECK(r.values.empty());
    CHECK_THAT(r.message, Contains("GPGSV"));
  }
}

TEST_CASE("ascii parse: NMEA errors", "[ascii][parse][nmea]") {
  const ParseSpec spec = gps_spec();
  const auto code_of = [&](const std::string& line) { return spec.parse(line).code; };

  SECTION("a wrong checksum, quoted with the line") {
    std::string bad = gga;
    bad.back() = '8';
    const AsciiParseResult r = spec.parse(bad);
    CHECK(r.code == ParseCode::bad_checksum);
    CHECK(r.error());
    CHECK(r.values.empty());
    CHECK_THAT(r.message, StartsWith("checksum mismatch (computed 47, sentence says 48)"));
    CHECK_THAT(r.message, Contains("\"$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*48\""));
    std::string corrupted = gga;
    corrupted[20] = '9';  // a digit of the latitude
    CHECK(code_of(corrupted) == ParseCode::bad_checksum);
  }
  SECTION("a checksum that is not two hex digits") {
    const std::string body = gga.substr(0, gga.size() - 2);
    CHECK(code_of(body + "4") == ParseCode::bad_checksum);
    CHECK(code_of(body + "471") == ParseCode::bad_checksum);
    CHECK(code_of(body + "G7") == ParseCode::bad_checksum);
    CHECK(code_of(body) == ParseCode::bad_checksum);  // '*' and nothing after it
  }
  SECTION("a missing checksum is an error only when required") {
    const std::string bare = gga.substr(0, gga.size() - 3);
    const AsciiParseResult r = spec.parse(bare);
    CHECK(r.code == ParseCode::missing_checksum);
    CHECK_THAT(r.message, Contains(bare));
    const AsciiParseResult lax = gps_spec(false).parse(bare);
    REQUIRE(lax.ok());
    CHECK(value_of(lax, "altitude") == weft::Value{545.4});
    CHECK(gps_spec(false).parse(gga).ok());  // a checksum present is still checked
    std::string bad = gga;
    bad.back() = '8';
    CHECK(gps_spec(false).parse(bad).code == ParseCode::bad_checksum);
  }
  SECTION("a short sentence lacks its fields; optional ones may be missing") {
    const AsciiParseResult r = spec.parse(sentence("GPGGA,123519,4807.038,N"));
    CHECK(r.code == ParseCode::missing_field);
    CHECK_THAT(r.message, Contains("GPGGA field 7 (satellites) missing: the sentence has 3 fields"));
    CHECK(spec.parse(sentence("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M")).ok());
  }
  SECTION("a field that is not a number") {
    const AsciiParseResult r = spec.parse(sentence("GPGGA,123519,48O7.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"));
    CHECK(r.code == ParseCode::bad_number);
    CHECK(r.values.empty());  // nothing from a bad line, not even the fields before
    CHECK_THAT(r.message, StartsWith("a number expected for latitude (GPGGA field 2), got \"48O7.038\""));
    CHECK(code_of(sentence("GPGGA,123519,4807.038,N,01131.000,E,1,8.5,0.9,545.4,M,46.9,M,,")) ==
          ParseCode::bad_number);  // satellites is an integer
  }
  SECTION("not a sentence at all") {
    CHECK(code_of("GPGGA,123519*47") == ParseCode::malformed);
    CHECK(code_of("!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26") == ParseCode::malformed);
    CHECK(code_of(sentence(",1,2")) == ParseCode::malformed);         // no address
    CHECK(code_of(sentence("gpgga,1,2")) == ParseCode::malformed);    // not A-Z 0-9
    CHECK(code_of("$GPGGA,1\xff,2*00") == ParseCode::malformed);      // not printable ASCII
    CHECK(code_of(std::string("$GPGGA,1\0,2*00", 14)) == ParseCode::malformed);
    CHECK(code_of("") == ParseCode::empty_line);
    CHECK(code_of(" \r\n") == ParseCode::empty_line);
  }
  SECTION("every single-byte corruption of a valid sentence is caught") {
    std::size_t accepted = 0;
    for (std::size_t at = 0; at < gga.size(); ++at) {
      for (int b = 0; b < 256; ++b) {
        if (static_cast<char>(b) == gga[at]) continue;
        std::string corrupted = gga;
        corrupted[at] = static_cast<char>(b);
        const AsciiParseResult r = spec.parse(corrupted);
        if (r.ok() || !r.values.empty()) ++accepted;
      }
    }
    CHECK(accepted == 0);
  }
  SECTION("messages quote at most ~80 chars of the escaped line") {
    const std::string long_bad = "$GPGGA," + std::string(200, '1') + "\x01*00";
    const AsciiParseResult r = spec.parse(long_bad);
    CHECK(r.code == ParseCode::malformed);
    const auto quote = r.message.find('"');
    REQUIRE(quote != std::string::npos);
    CHECK(r.message.substr(quote) == "\"$GPGGA," + std::string(73, '1') + "...\"");
  }
}

TEST_CASE("ascii parse: key/value lines", "[ascii][parse][kv]") {
  SECTION("every pair by default, numbers as doubles, the rest as text") {
    const ParseSpec spec = ParseSpec::key_value({});
    const AsciiParseResult r = spec.parse("T=21.5 H=40  STATUS=OK\tP=-3e2 Q=+0.5");
    REQUIRE(r.ok());
    CHECK(r.values == std::vector<NamedValue>{{"T", 21.5},
                                              {"H", 40.0},
                                              {"STATUS", std::string("OK")},
                                              {"P", -300.0},
                                              {"Q", 0.5}});
    CHECK(spec.parse("T=1 T=2").values == std::vector<NamedValue>{{"T", 1.0}});  // first wins
    CHECK(spec.parse("ID42 T=1 done").values == std::vector<NamedValue>{{"T", 1.0}});  // bare words skipped
    CHECK(spec.parse("T= H=40").values == std::vector<NamedValue>{{"H", 40.0}});  // empty: absent
    CHECK(spec.parse("T=inf N=nan X=0x10").values ==
          std::vector<NamedValue>{{"T", std::string("inf")}, {"N", std::string("nan")}, {"X", std::string("0x10")}});
    CHECK(spec.parse("T=1e999").values == std::vector<NamedValue>{{"T", std::string("1e999")}});  // not finite
  }
  SECTION("':' with blanks around it") {
    const ParseSpec spec = ParseSpec::key_value({' ', ':', {}});
    CHECK(spec.parse("T: 21.5 H :40 P : 1013").values ==
          std::vector<NamedValue>{{"T", 21.5}, {"H", 40.0}, {"P", 1013.0}});
  }
  SECTION("',' and ';' between pairs") {
    CHECK(ParseSpec::key_value({',', '=', {}}).parse("T = 21.5, H=40 ,, note=a b").values ==
          std::vector<NamedValue>{{"T", 21.5}, {"H", 40.0}, {"note", std::string("a b")}});
    CHECK(ParseSpec::key_value({';', ':', {}}).parse("T:21.5;H:40;").values ==
          std::vector<NamedValue>{{"T", 21.5}, {"H", 40.0}});
  }
  SECTION("declared keys: renamed, typed, in declaration order") {
    KeyValueOptions options;
    options.keys = {{"H", "humidity"},
                    {"T", "temperature"},
                    {"N", "count", FieldType::integer},
                    {"S", "status", FieldType::text},
                    {"X", "extra", FieldType::number, true}};
    const ParseSpec spec = ParseSpec::key_value(options);
    const AsciiParseResult r = spec.parse("T=21.5 H=40 N=7 S=42 other=zz");
    REQUIRE(r.ok());
    CHECK(r.values == std::vector<NamedValue>{{"humidity", 40.0},
                                              {"temperature", 21.5},
                                              {"count", std::int64_t{7}},
                                              {"status", std::string("42")}});
    const AsciiParseResult missing = spec.parse("T=21.5 N=7 S=ok");
    CHECK(missing.code == ParseCode::missing_field);
    CHECK_THAT(missing.message, StartsWith("key \"H\" (humidity) missing in line \"T=21.5 N=7 S=ok\""));
    const AsciiParseResult bad = spec.parse("T=21,5 H=40 N=7 S=ok");
    CHECK(bad.code == ParseCode::bad_number);
    CHECK(bad.values.empty());
    CHECK_THAT(bad.message, Contains("temperature (key T), got \"21,5\""));
    CHECK(spec.parse("T=21.5 H=40 N=7.0 S=ok").code == ParseCode::bad_number);
    CHECK(spec.parse("T=21.5 H=40 N=99999999999999999999 S=ok").code == ParseCode::bad_number);
    CHECK(spec.parse("T=21.5 H=40 N=-12 S=\xff").code == ParseCode::bad_text);
  }
  SECTION("malformed and empty lines") {
    const ParseSpec spec = ParseSpec::key_value({});
    CHECK(spec.parse("").code == ParseCode::empty_line);
    CHECK(spec.parse("hello world").code == ParseCode::malformed);
    CHECK(spec.parse("=5").code == ParseCode::malformed);
    CHECK(spec.parse("T=1=2").code == ParseCode::malformed);
    CHECK(spec.parse("T\xff=1").code == ParseCode::malformed);  // keys become names: plain ASCII only
    CHECK(spec.parse("T=1 " + std::string(65, 'k') + "=2").code == ParseCode::malformed);
    CHECK(spec.parse("T=caf\xC3\xA9").ok());
    CHECK(spec.parse("T=\xC3").code == ParseCode::bad_text);
    const AsciiParseResult r = spec.parse("T=1\x1b[2J");
    CHECK(r.code == ParseCode::bad_text);
    CHECK_THAT(r.message, Contains("\"T=1\\x1b[2J\""));  // escaped in the message
  }
  SECTION("a value quoted whole is one text value, with \\\" and \\\\ escapes") {
    const ParseSpec spec = ParseSpec::key_value({});
    const AsciiParseResult r = spec.parse(R"(T=6 S="quoted value" N="42" E="say \"hi\" \\o/" P= "  padded  " Z="")");
    INFO(r.message);
    REQUIRE(r.ok());
    CHECK(r.values == std::vector<NamedValue>{{"T", 6.0},
                                              {"S", std::string("quoted value")},
                                              {"N", std::string("42")},  // quoted: text under auto
                                              {"E", std::string(R"(say "hi" \o/)")},
                                              {"P", std::string("  padded  ")}});  // "" is empty: absent
    KeyValueOptions typed;
    typed.keys = {{"T", "temperature"}, {"S", "state", FieldType::text}};
    CHECK(ParseSpec::key_value(typed).parse(R"(T="21.5" S="door open")").values ==
          std::vector<NamedValue>{{"temperature", 21.5}, {"state", std::string("door open")}});
    CHECK(ParseSpec::key_value({',', '=', {}}).parse(R"(note="a, b", T=1 ,S = "x;y" )").values ==
          std::vector<NamedValue>{{"note", std::string("a, b")}, {"T", 1.0}, {"S", std::string("x;y")}});
    CHECK(ParseSpec::key_value({';', ':', {}}).parse(R"(S:"a;b";T:2)").values ==
          std::vector<NamedValue>{{"S", std::string("a;b")}, {"T", 2.0}});
  }
  SECTION("quotes the format does not accept make the line malformed, with no values") {
    const ParseSpec spec = ParseSpec::key_value({});
    const auto malformed = [&](const std::string& line, const std::string& why) {
      const AsciiParseResult r = spec.parse(line);
      INFO(line << " -> " << r.message);
      CHECK(r.code == ParseCode::malformed);
      CHECK(r.values.empty());
      CHECK_THAT(r.message, Contains(why));
    };
    malformed(R"(T=6 S="quoted value)", "unclosed quote in the value of key \"S\"");
    malformed(R"(T=6 S="a"b T=1)", "text after the closing quote of key \"S\"");
    malformed(R"(T=6 S=a"b")", "a quote in the value of key \"S\"");
    malformed(R"(T=6 S="a\nb")", "an escape other than");
    malformed(R"("T"=6)", "a quote in the word");
    malformed(R"(hello "world" T=1)", "a quote in the word");
    const ParseSpec commas = ParseSpec::key_value({',', '=', {}});
    CHECK(commas.parse(R"(S="a" b, T=1)").code == ParseCode::malformed);
    CHECK(commas.parse(R"(S=a"b, T=1)").code == ParseCode::malformed);
    CHECK(commas.parse(R"(S="a, T=1)").code == ParseCode::malformed);
    CHECK(spec.parse("S=\"\x1b[2J\"").code == ParseCode::bad_text);  // quoted text is still never trusted
  }
}

TEST_CASE("ascii parse: CSV lines", "[ascii][parse][csv]") {
  const std::vector<Column> columns{{0, "temp"}, {2, "pressure"}};
  SECTION("columns by index, blanks around fields ignored") {
    const ParseSpec spec = ParseSpec::csv(columns);
    CHECK(spec.parse("21.5,foo, 1013.2 ,x").values == std::vector<NamedValue>{{"temp", 21.5}, {"pressure", 1013.2}});
    CHECK(spec.parse(",foo,1013.2").values == std::vector<NamedValue>{{"pressure", 1013.2}});  // empty: absent
    CHECK(spec.parse("21.5,foo,").values == std::vector<NamedValue>{{"temp", 21.5}});  // trailing empty column
    const AsciiParseResult r = spec.parse("21.5,foo");
    CHECK(r.code == ParseCode::missing_field);
    CHECK_THAT(r.message, StartsWith("column 2 (pressure) missing: the line has 2 columns"));
    CHECK(spec.parse("21.5,foo,high").code == ParseCode::bad_number);
    CHECK(spec.parse("").code == ParseCode::empty_line);
  }
  SECTION("other delimiters") {
    CHECK(ParseSpec::csv(columns, ';').parse("21.5;a,b;7").values ==
          std::vector<NamedValue>{{"temp", 21.5}, {"pressure", 7.0}});
    CHECK(ParseSpec::csv(columns, '\t').parse("21.5\t\t7").values ==
          std::vector<NamedValue>{{"temp", 21.5}, {"pressure", 7.0}});
    // ' ' means runs of blanks: aligned columns
    CHECK(ParseSpec::csv(columns, ' ').parse("  21.5    x \t 7  ").values ==
          std::vector<NamedValue>{{"temp", 21.5}, {"pressure", 7.0}});
  }
  SECTION("quotes") {
    const ParseSpec spec = ParseSpec::csv({{0, "label", FieldType::text}, {1, "value"}});
    CHECK(spec.parse("\"a,b\",1").values == std::vector<NamedValue>{{"label", std::string("a,b")}, {"value", 1.0}});
    CHECK(spec.parse("\"say \"\"hi\"\"\" , 2").values ==
          std::vector<NamedValue>{{"label", std::string("say \"hi\"")}, {"value", 2.0}});
    CHECK(spec.parse("\"\",3").values == std::vector<NamedValue>{{"value", 3.0}});
    CHECK(spec.parse("\"open,1").code == ParseCode::malformed);
    CHECK(spec.parse("\"a\"b,1").code == ParseCode::malformed);
    CHECK(ParseSpec::csv({{0, "label", FieldType::text}, {1, "value"}}, ' ').parse("\"two words\" 4").values ==
          std::vector<NamedValue>{{"label", std::string("two words")}, {"value", 4.0}});
    const ParseSpec raw = ParseSpec::csv({{0, "label", FieldType::text}, {1, "value"}}, ',', false);
    CHECK(raw.parse("\"a\",1").values == std::vector<NamedValue>{{"label", std::string("\"a\"")}, {"value", 1.0}});
  }
  SECTION("optional columns and types") {
    const ParseSpec spec = ParseSpec::csv({{0, "n", FieldType::integer}, {1, "any", FieldType::automatic},
                                           {5, "late", FieldType::number, true}});
    CHECK(spec.parse("12,abc").values == std::vector<NamedValue>{{"n", std::int64_t{12}}, {"any", std::string("abc")}});
    CHECK(spec.parse("+12,.5").values == std::vector<NamedValue>{{"n", std::int64_t{12}}, {"any", 0.5}});
    CHECK(spec.parse("1,2,3,4,5,6").values ==
          std::vector<NamedValue>{{"n", std::int64_t{1}}, {"any", 2.0}, {"late", 6.0}});
    CHECK(spec.parse("1.5,2").code == ParseCode::bad_number);
  }
}

TEST_CASE("ascii parse: specs that cannot work are refused", "[ascii][parse]") {
  CHECK_THROWS_WITH(ParseSpec::key_value({'|', '=', {}}), Contains("pair separator"));
  CHECK_THROWS_WITH(ParseSpec::key_value({' ', '-', {}}), Contains("key/value separator"));
  CHECK_THROWS_WITH(ParseSpec::key_value({' ', '=', {{"T", "a"}, {"T", "b"}}}), Contains("declared twice"));
  CHECK_THROWS_WITH(ParseSpec::key_value({' ', '=', {{"T", "a"}, {"H", "a"}}}), Contains("used twice"));
  CHECK_THROWS_WITH(ParseSpec::key_value({' ', '=', {{"T=", "a"}}}), Contains("printable ASCII"));
  CHECK_THROWS_WITH(ParseSpec::key_value({' ', '=', {{"", "a"}}}), Contains("printable ASCII"));
  CHECK_THROWS_WITH(ParseSpec::key_value({' ', '=', {{"T", ""}}}), Contains("empty name"));
  CHECK_THROWS_WITH(ParseSpec::csv({}), Contains("no columns"));
  CHECK_THROWS_WITH(ParseSpec::csv({{0, "a"}, {1, "a"}}), Contains("used twice"));
  CHECK_THROWS_WITH(ParseSpec::csv({{0, "a"}}, '"'), Contains("delimiter"));
  CHECK_NOTHROW(ParseSpec::csv({{0, "a"}}, '"', false));
  CHECK_THROWS_WITH(ParseSpec::nmea({}), Contains("no fields"));
  CHECK_THROWS_WITH(ParseSpec::nmea({{"GPGGA", 0, "a"}}), Contains("start at 1"));
  CHECK_THROWS_WITH(ParseSpec::nmea({{"gp,gga", 1, "a"}}), Contains("must be an address"));
  CHECK_THROWS_WITH(ParseSpec::nmea({{"GPGGA", 1, "a"}, {"GPGGA", 2, "a"}}), Contains("used twice"));
  CHECK_NOTHROW(ParseSpec::nmea({{"$GPGGA", 1, "a"}, {"GPRMC", 2, "a"}}));  // '$' is optional; per sentence
  // Found by the ascii_parse fuzz target: a formatter and an address it
  // matches with one name gave that name twice from one GPGGA line.
  CHECK_THROWS_WITH(ParseSpec::nmea({{"GPGGA", 2, "lat"}, {"GGA", 1, "lat"}}), Contains("match the same sentences"));
  CHECK_NOTHROW(ParseSpec::nmea({{"GPGGA", 2, "lat"}, {"RMC", 3, "lat"}}));  // different sentences
  CHECK(ParseSpec::nmea({{"$GPGGA", 9, "alt"}}).parse(gga).values == std::vector<NamedValue>{{"alt", 545.4}});
}
