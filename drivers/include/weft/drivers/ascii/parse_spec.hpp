// ParseSpec: turns one instrument line into named values, by one of three kinds —
// key_value ("T=21.5 H=40"), csv (columns by index) or nmea (NMEA 0183 sentences,
// checksum verified). Built from plain config-like structs; parse() never throws and
// never trusts the line: problems come back as a code plus a message that quotes the
// escaped line (at most ~80 chars). A line either yields values or yields none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "weft/core/reading.hpp"
#include "weft/drivers/ascii/field_value.hpp"

namespace weft::ascii {

// Declared fields default to numbers; a field whose text does not read as its type is
// bad_number (number, integer) or bad_text (text, auto). An empty field is absent.

// key_value: a selected key, renamed.
struct KeyField {
  std::string key;   // as the instrument sends it, e.g. "T"
  std::string name;  // the value's name, e.g. "temperature"
  FieldType type = FieldType::number;
  bool optional = false;  // a key missing from the line is missing_field unless optional
};

// A value is bare (T=21.5) or quoted as a whole (S="two words, or more"; \" and
// \\ are the only escapes; a quoted value is text under `auto`). A quote
// anywhere else, an unclosed one, another escape or text after the closing
// quote is ParseCode::malformed.
struct KeyValueOptions {
  char pair_separator = ' ';  // ' ': runs of spaces/tabs; or ',' or ';'
  char kv_separator = '=';    // '=' or ':'
  // Empty: every pair becomes a value named by its key (printable ASCII, at most 64
  // bytes), typed automatic; the first of duplicate keys wins. Otherwise only these.
  std::vector<KeyField> keys;
};

// csv: column `index` (0-based) becomes value `name`.
struct Column {
  std::size_t index = 0;
  std::string name;
  FieldType type = FieldType::number;
  bool optional = false;  // a line with too few columns is missing_field unless optional
};

// nmea: field `index` (1-based: field 1 follows the address) of sentence `sentence`.
// `sentence` is the address without '$' ("GPGGA"), or a 3-letter formatter ("GGA")
// that matches it from any talker ("GPGGA", "GNGGA", ...).
struct NmeaField {
  std::string sentence;
  std::size_t index = 1;
  std::string name;
  FieldType type = FieldType::number;
  bool optional = false;  // a sentence with too few fields is missing_field unless optional
};

struct NamedValue {
  std::string name;
  weft::Value value;
  friend bool operator==(const NamedValue&, const NamedValue&) = default;
};

enum class ParseCode : std::uint8_t {
  ok,
  unknown_sentence,  // not an error: a sentence no field asks for, ignored
  empty_line,
  malformed,         // not the shape the spec expects (no '$', unclosed quote, "=5", ...)
  missing_checksum,  // nmea without "*HH" while the checksum is required
  bad_checksum,      // nmea checksum not two hex digits, or not matching
  missing_field,     // a declared field not in the line
  bad_number,        // a number or integer field that does not read as one
  bad_text,          // a text value that is not printable UTF-8
};
std::string_view to_string(ParseCode code) noexcept;
constexpr bool is_error(ParseCode code) noexcept {
  return code != ParseCode::ok && code != ParseCode::unknown_sentence;
}

struct ParseResult {
  std::vector<NamedValue> values;  // empty unless code is ok (an ok line may have none)
  ParseCode code = ParseCode::ok;
  std::string message;             // empty when ok; otherwise quotes the escaped line

  bool ok() const noexcept { return code == ParseCode::ok; }
  bool ignored() const noexcept { return code == ParseCode::unknown_sentence; }
  bool error() const noexcept { return is_error(code); }
};

// XOR of the bytes of `between` (an NMEA sentence's text between '$' and '*').
std::uint8_t nmea_checksum(std::string_view between) noexcept;

class ParseSpec {
public:
  enum class Kind : std::uint8_t { key_value, csv, nmea };
  static std::optional<Kind> kind_from_string(std::string_view name) noexcept;  // "kv" "csv" "nmea"
  static std::string_view to_string(Kind kind) noexcept;                       // "kv" "csv" "nmea"

  // Each throws std::invalid_argument, saying why, for a spec that cannot work:
  // an empty or duplicate name, an unsupported separator, an NMEA index of 0, ...
  static ParseSpec key_value(KeyValueOptions options);
  // delimiter ' ' means runs of spaces/tabs; with `quotes`, a field may be wrapped in
  // double quotes (holding delimiters, and "" for a quote).
  static ParseSpec csv(std::vector<Column> columns, char delimiter = ',', bool quotes = true);
  static ParseSpec nmea(std::vector<NmeaField> fields, bool require_checksum = true);

  Kind kind() const noexcept;
  // Leading and trailing spaces, tabs, '\r' and '\n' are ignored.
  ParseResult parse(std::string_view line) const;

private:
  struct KeyValueSpec {
    KeyValueOptions options;
  };
  struct CsvSpec {
    std::vector<Column> columns;
    char delimiter = ',';
    bool quotes = true;
  };
  struct NmeaSpec {
    std::vector<NmeaField> fields;
    bool require_checksum = true;
  };
  using Spec = std::variant<KeyValueSpec, CsvSpec, NmeaSpec>;
  explicit ParseSpec(Spec spec) : spec_(std::move(spec)) {}

  static ParseResult parse_key_value(const KeyValueSpec& spec, std::string_view line);
  static ParseResult parse_csv(const CsvSpec& spec, std::string_view line);
  static ParseResult parse_nmea(const NmeaSpec& spec, std::string_view line);

  Spec spec_;
};

}  // namespace weft::ascii
