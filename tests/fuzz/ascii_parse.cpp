// Fuzz target: instrument line parsing (drivers/src/ascii: parse_spec.cpp
// for kv, CSV and NMEA; field_value.cpp; escape.cpp). The input picks a spec
// (kind, separators, declared fields with short names and keys) and then
// lines. Invariants:
// - a spec that cannot work is refused with a message saying why;
// - parse() gives values only when ok, an error always has a message, and
//   every message and text value is printable UTF-8 on one line (safe to
//   log); numbers are finite; value names are the declared ones, once each;
// - escape_non_utf8 is printable UTF-8 without newlines, and reversible;
//   escape_for_log is a prefix of it (plus "..."), never over max + 3 bytes;
// - read_number/read_integer accept only their grammar, and agree with
//   strtod/strtoll on what they accept.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "weft/drivers/ascii/escape.hpp"
#include "weft/drivers/ascii/field_value.hpp"
#include "weft/drivers/ascii/parse_spec.hpp"

namespace {

using namespace weft::ascii;
using weft::fuzz::FuzzBytes;

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    FUZZ_CHECK(i + 1 < s.size(), "a lone backslash at the end of an escape");
    if (s[i + 1] == '\\') {
      out += '\\';
      ++i;
      continue;
    }
    FUZZ_CHECK(s[i + 1] == 'x' && i + 3 < s.size(), "an escape that is neither \\\\ nor \\xNN");
    out += static_cast<char>(std::stoi(std::string(s.substr(i + 2, 2)), nullptr, 16));
    i += 3;
  }
  return out;
}

void check_escape(std::string_view bytes, std::size_t max) {
  const std::string e = escape_non_utf8(bytes);
  FUZZ_CHECK(is_printable_utf8(e) && e.find('\n') == std::string::npos, "escape is not one printable line");
  FUZZ_CHECK(unescape(e) == bytes, "escape is not reversible");
  if (is_printable_utf8(bytes) && bytes.find('\\') == std::string_view::npos)
    FUZZ_CHECK(e == bytes, "printable text was changed");
  const std::string cut = escape_for_log(bytes, max);
  FUZZ_CHECK(cut.size() <= max + 3 && is_printable_utf8(cut), "escape_for_log too long or not printable");
  if (cut.size() >= 3 && cut.ends_with("...") && cut != e) {
    FUZZ_CHECK(e.starts_with(cut.substr(0, cut.size() - 3)), "escape_for_log is not a prefix of the escape");
  } else {
    FUZZ_CHECK(cut == e, "escape_for_log changed an uncut text");
  }
}

void check_fields(std::string_view text) {
  if (const auto n = read_number(text)) {
    FUZZ_CHECK(std::isfinite(*n), "a non-finite number");
    const std::string copy(text);
    FUZZ_CHECK(std::strtod(copy.c_str(), nullptr) == *n, "read_number disagrees with strtod");
    FUZZ_CHECK(copy.find_first_not_of("0123456789+-.eE") == std::string::npos, "a number outside the grammar");
  }
  if (const auto i = read_integer(text)) {
    const std::string copy(text);
    errno = 0;
    FUZZ_CHECK(std::strtoll(copy.c_str(), nullptr, 10) == *i && errno == 0, "read_integer disagrees with strtoll");
    FUZZ_CHECK(copy.find_first_not_of("0123456789+-") == std::string::npos, "an integer outside the grammar");
  }
  for (const FieldType t : {FieldType::number, FieldType::integer, FieldType::text, FieldType::automatic})
    if (const auto v = read_field(text, t)) {
      FUZZ_CHECK(!text.empty(), "an empty text read as a value");
      if (const auto* s = std::get_if<std::string>(&*v)) FUZZ_CHECK(is_printable_utf8(*s), "unprintable text value");
    }
}

std::string name(FuzzBytes& in) {
  static constexpr const char* kNames[] = {"t", "h", "p", "lat", "lon", "T", "RH", "x y", ""};
  return kNames[in.u8() % 9];
}

FieldType type(FuzzBytes& in) { return static_cast<FieldType>(in.u8() % 4); }

ParseSpec make_spec(FuzzBytes& in) {
  const std::uint8_t kind = in.u8() % 3;
  const std::size_t fields = in.u8() % 5;
  if (kind == 0) {
    KeyValueOptions o;
    o.pair_separator = " ,;\t"[in.u8() % 4];
    o.kv_separator = "=:-"[in.u8() % 3];
    for (std::size_t i = 0; i < fields; ++i) o.keys.push_back({name(in), name(in), type(in), in.flag()});
    return ParseSpec::key_value(std::move(o));
  }
  if (kind == 1) {
    std::vector<Column> columns;
    for (std::size_t i = 0; i < fields; ++i) columns.push_back({in.u8() % 8u, name(in), type(in), in.flag()});
    return ParseSpec::csv(std::move(columns), ",; \t|\""[in.u8() % 6], in.flag());
  }
  std::vector<NmeaField> nmea;
  static constexpr const char* kSentences[] = {"GPGGA", "GGA", "GNRMC", "RMC", "XDR", "", "G"};
  for (std::size_t i = 0; i < fields; ++i)
    nmea.push_back({kSentences[in.u8() % 7], in.u8() % 16u, name(in), type(in), in.flag()});
  return ParseSpec::nmea(std::move(nmea), in.flag());
}

void check_parse(const ParseSpec& spec, std::string_view line) {
  const ParseResult r = spec.parse(line);
  if (r.ok()) {
    FUZZ_CHECK(r.message.empty(), "an ok result with a message");
  } else {
    FUZZ_CHECK(r.values.empty(), "values on a line that was not ok");
    if (r.error()) FUZZ_CHECK(!r.message.empty(), "error %u without a message", static_cast<unsigned>(r.code));
  }
  FUZZ_CHECK(is_printable_utf8(r.message) && r.message.size() < 400, "message unsafe to log or too long");
  std::set<std::string> seen;
  for (const NamedValue& v : r.values) {
    FUZZ_CHECK(!v.name.empty() && seen.insert(v.name).second, "an empty or duplicate value name");
    if (const auto* d = std::get_if<double>(&v.value)) FUZZ_CHECK(std::isfinite(*d), "a non-finite value");
    if (const auto* s = std::get_if<std::string>(&v.value)) FUZZ_CHECK(is_printable_utf8(*s), "unprintable text");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzBytes in(data, size);
  const std::size_t max = 1 + in.u8();
  const std::string_view text = in.rest_text();
  check_escape(text, max);
  check_fields(text.substr(0, 64));
  FuzzBytes spec_bytes(data, size);  // the same bytes again, read as a spec
  std::optional<ParseSpec> spec;
  try {
    spec.emplace(make_spec(spec_bytes));
  } catch (const std::invalid_argument& e) {
    FUZZ_CHECK(std::string_view(e.what()).find("spec") != std::string_view::npos, "refusal '%s' names no spec", e.what());
    spec.emplace(ParseSpec::key_value({}));
  }
  std::string_view lines = spec_bytes.rest_text();
  while (!lines.empty()) {
    const std::size_t end = std::min(lines.find('\n'), lines.size());
    check_parse(*spec, lines.substr(0, end));
    lines.remove_prefix(std::min(lines.size(), end + 1));
  }
  return 0;
}
