// ParseSpec: validation of specs at build time, then one parser per kind. Parsers
// work on string_views of the (trimmed) line and only materialise what they return;
// the first problem found ends the parse with no values, so a bad line never yields
// a partial reading. Field text is read strictly by field_value.hpp.
// kv values are bare (no blanks, or no pair separator; trimmed) or quoted as a
// whole: KEY="two words", with \" and \\ the only escapes, kept untrimmed, text
// under `auto`. A quote anywhere else, an unclosed quote, another escape or text
// after the closing quote makes the line malformed (counted as a bad line).
#include "weft/drivers/ascii/parse_spec.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "weft/drivers/ascii/escape.hpp"

namespace weft::ascii {
namespace {

constexpr std::size_t max_key_length = 64;

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view trim_line(std::string_view s) noexcept {
  const auto space = [](char c) { return is_blank(c) || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

ParseResult failure(ParseCode code, const std::string& what, std::string_view line) {
  return {{}, code, what + " in line \"" + escape_for_log(line) + "\""};
}

std::string quoted(std::string_view value) {
  std::string out = "\"";  // appended, not "\"" + ...: GCC 12 -O3 warns falsely on that
  out += escape_for_log(value, 32);
  out += '"';
  return out;
}

// Appends `name` = `text` read as `type` to r.values; an empty text is absent. On a
// bad value, replaces r with the failure and returns false.
bool add_value(ParseResult& r, const std::string& name, std::string_view text, FieldType type,
               std::string_view where, std::string_view line, bool quoted_value = false) {
  if (quoted_value) {
    if (type == FieldType::automatic) type = FieldType::text;  // quoting says "this is text"
  } else {
    text = trim_blanks(text);
  }
  if (text.empty()) return true;
  const auto bad = [&](ParseCode code, std::string_view expected) {
    r = failure(code, std::string(expected) + " expected for " + name + " (" + std::string(where) +
                          "), got " + quoted(text),
                line);
    return false;
  };
  std::optional<weft::Value> value = read_field(text, type);
  if (!value) {
    const bool numeric = type == FieldType::number || type == FieldType::integer;
    return bad(numeric ? ParseCode::bad_number : ParseCode::bad_text,
               type == FieldType::number    ? "a number"
               : type == FieldType::integer ? "an integer"
                                            : "printable UTF-8 text");
  }
  r.values.push_back({name, std::move(*value)});
  return true;
}

void require_names(const std::vector<std::string>& names, std::string_view what) {
  std::set<std::string> seen;
  for (const auto& name : names) {
    if (name.empty()) throw std::invalid_argument(std::string(what) + ": a field has an empty name");
    if (!seen.insert(name).second) {
      throw std::invalid_argument(std::string(what) + ": the name \"" + name + "\" is used twice");
    }
  }
}

bool is_nmea_address(std::string_view s) noexcept {
  return !s.empty() && s.size() <= 8 && std::all_of(s.begin(), s.end(), [](char c) {
           return is_digit(c) || (c >= 'A' && c <= 'Z');
         });
}

// "GPGGA" matches "GPGGA"; a 3-letter formatter "GGA" matches any talker's GGA, but
// not a proprietary sentence ("P" + maker + type).
bool nmea_matches(std::string_view configured, std::string_view address) noexcept {
  if (configured == address) return true;
  return configured.size() == 3 && address.size() == 5 && address.front() != 'P' &&
         address.substr(2) == configured;
}

int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string hex_byte(unsigned value) {
  static constexpr char digits[] = "0123456789ABCDEF";
  return {digits[(value >> 4) & 0x0F], digits[value & 0x0F]};
}

// Splits a CSV line into fields; nullopt (with `why`) when the quoting is broken.
std::optional<std::vector<std::string>> split_csv(std::string_view s, char delimiter, bool quotes,
                                                  std::string& why) {
  std::vector<std::string> fields;
  const bool blank_runs = delimiter == ' ';
  const auto skip_blanks = [&](std::size_t& i) {
    while (i < s.size() && is_blank(s[i]) && s[i] != delimiter) ++i;
  };
  std::size_t i = 0;
  while (true) {
    if (blank_runs) {
      while (i < s.size() && is_blank(s[i])) ++i;
      if (i == s.size()) break;
    } else {
      skip_blanks(i);
    }
    std::string field;
    if (quotes && i < s.size() && s[i] == '"') {
      ++i;
      while (true) {
        if (i == s.size()) {
          why = "unclosed quote in column " + std::to_string(fields.size());
          return std::nullopt;
        }
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += s[i++];
      }
      if (!blank_runs) skip_blanks(i);
      if (i < s.size() && (blank_runs ? !is_blank(s[i]) : s[i] != delimiter)) {
        why = "text after the closing quote of column " + std::to_string(fields.size());
        return std::nullopt;
      }
    } else {
      const std::size_t start = i;
      while (i < s.size() && (blank_runs ? !is_blank(s[i]) : s[i] != delimiter)) ++i;
      field = trim_blanks(s.substr(start, i - start));
    }
    fields.push_back(std::move(field));
    if (blank_runs) continue;
    if (i == s.size()) break;
    ++i;  // the delimiter; a line ending with one has an empty last column
    if (i == s.size()) {
      fields.emplace_back();
      break;
    }
  }
  return fields;
}

// One key/value pair as found in the line. A quoted value's text is
// unescaped into `unquoted`; a bare one is a view of the line.
struct Pair {
  std::string_view key;
  std::string_view value;
  bool quoted = false;
  std::string unquoted;
  std::string_view text() const noexcept { return quoted ? std::string_view(unquoted) : value; }
};

// Reads the quoted value whose opening '"' is s[k]: up to the next '"' not
// escaped; inside, \" is a quote and \\ a backslash. On success k is just
// past the closing quote. nullopt (with `why`) if unclosed or a bad escape.
std::optional<std::string> read_quoted(std::string_view s, std::size_t& k, std::string_view key, std::string& why) {
  std::string out;
  for (++k; k < s.size(); ++k) {
    if (s[k] == '"') {
      ++k;
      return out;
    }
    if (s[k] == '\\') {
      if (k + 1 < s.size() && (s[k + 1] == '"' || s[k + 1] == '\\')) {
        out += s[++k];
        continue;
      }
      why = "an escape other than \\\" or \\\\ in the quoted value of key " + quoted(key);
      return std::nullopt;
    }
    out += s[k];
  }
  why = "unclosed quote in the value of key " + quoted(key);
  return std::nullopt;
}

bool has_quote(std::string_view s) noexcept { return s.find('"') != std::string_view::npos; }

std::string stray_quote(std::string_view where) {
  return "a quote in " + std::string(where) + " (only a whole value may be quoted: KEY=\"...\")";
}

// Pairs separated by runs of blanks, blanks allowed around the key/value separator:
// "T=21.5 H=40", "T: 21.5 H: 40", "T = 21.5", S="two words". A word without
// separator is skipped; "T= H=40" gives T an empty value. nullopt (with `why`)
// for "T=1=2", a quote anywhere but around a whole value, or text after one.
std::optional<std::vector<Pair>> split_blank_pairs(std::string_view s, char sep, std::string& why) {
  std::vector<Pair> pairs;
  std::size_t i = 0;
  const auto skip = [&](std::size_t& k) {
    while (k < s.size() && is_blank(s[k])) ++k;
  };
  while (true) {
    skip(i);
    if (i == s.size()) break;
    const std::size_t key_start = i;
    while (i < s.size() && !is_blank(s[i]) && s[i] != sep) ++i;
    const std::string_view key = s.substr(key_start, i - key_start);
    if (has_quote(key)) {
      why = stray_quote("the word " + quoted(key));
      return std::nullopt;
    }
    std::size_t j = i;
    skip(j);
    if (j == s.size() || s[j] != sep) {
      i = j;  // a bare word
      continue;
    }
    i = j + 1;
    std::size_t k = i;
    skip(k);
    if (k < s.size() && s[k] == '"') {
      auto text = read_quoted(s, k, key, why);
      if (!text) return std::nullopt;
      if (k < s.size() && !is_blank(s[k])) {
        why = "text after the closing quote of key " + quoted(key);
        return std::nullopt;
      }
      pairs.push_back({key, {}, true, std::move(*text)});
      i = k;
      continue;
    }
    const bool adjacent = k == i;
    const std::size_t value_start = k;
    while (k < s.size() && !is_blank(s[k])) ++k;
    std::string_view value = s.substr(value_start, k - value_start);
    if (value.find(sep) != std::string_view::npos) {
      if (adjacent) {
        why = "a value holding the key/value separator";
        return std::nullopt;
      }
      value = {};  // "T= H=40": the word after the blanks is the next pair
    } else {
      if (has_quote(value)) {
        why = stray_quote("the value of key " + quoted(key));
        return std::nullopt;
      }
      i = k;
    }
    pairs.push_back({key, value, false, {}});
  }
  return pairs;
}

// Pairs separated by `pair_sep` (',' or ';'): "T=21.5, H=40;", note="a, b".
std::optional<std::vector<Pair>> split_char_pairs(std::string_view s, char pair_sep, char sep,
                                                  std::string& why) {
  std::vector<Pair> pairs;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t end = std::min(s.find(pair_sep, i), s.size());
    const std::size_t at = s.find(sep, i);
    if (at == std::string_view::npos || at > end) {  // empty, or a bare word
      if (has_quote(s.substr(i, end - i))) {
        why = stray_quote("the word " + quoted(trim_blanks(s.substr(i, end - i))));
        return std::nullopt;
      }
      i = end + 1;
      continue;
    }
    const std::string_view key = trim_blanks(s.substr(i, at - i));
    if (has_quote(key)) {
      why = stray_quote("the key " + quoted(key));
      return std::nullopt;
    }
    std::size_t k = at + 1;
    while (k < s.size() && is_blank(s[k])) ++k;
    if (k < s.size() && s[k] == '"') {
      auto text = read_quoted(s, k, key, why);
      if (!text) return std::nullopt;
      while (k < s.size() && is_blank(s[k])) ++k;
      if (k < s.size() && s[k] != pair_sep) {
        why = "text after the closing quote of key " + quoted(key);
        return std::nullopt;
      }
      pairs.push_back({key, {}, true, std::move(*text)});
      i = k + 1;
      continue;
    }
    const std::string_view value = trim_blanks(s.substr(at + 1, end - at - 1));
    if (value.find(sep) != std::string_view::npos) {
      why = "a value holding the key/value separator";
      return std::nullopt;
    }
    if (has_quote(value)) {
      why = stray_quote("the value of key " + quoted(key));
      return std::nullopt;
    }
    pairs.push_back({key, value, false, {}});
    i = end + 1;
  }
  return pairs;
}

bool is_plain_key(std::string_view key) noexcept {
  return key.size() <= max_key_length &&
         std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

}  // namespace

std::string_view to_string(ParseCode code) noexcept {
  switch (code) {
    case ParseCode::ok: return "ok";
    case ParseCode::unknown_sentence: return "unknown_sentence";
    case ParseCode::empty_line: return "empty_line";
    case ParseCode::malformed: return "malformed";
    case ParseCode::missing_checksum: return "missing_checksum";
    case ParseCode::bad_checksum: return "bad_checksum";
    case ParseCode::missing_field: return "missing_field";
    case ParseCode::bad_number: return "bad_number";
    case ParseCode::bad_text: return "bad_text";
  }
  return "unknown";
}

std::uint8_t nmea_checksum(std::string_view between) noexcept {
  std::uint8_t sum = 0;
  for (const char c : between) sum ^= static_cast<std::uint8_t>(c);
  return sum;
}

std::optional<ParseSpec::Kind> ParseSpec::kind_from_string(std::string_view name) noexcept {
  if (name == "kv") return Kind::key_value;
  if (name == "csv") return Kind::csv;
  if (name == "nmea") return Kind::nmea;
  return std::nullopt;
}

std::string_view ParseSpec::to_string(Kind kind) noexcept {
  switch (kind) {
    case Kind::key_value: return "kv";
    case Kind::csv: return "csv";
    case Kind::nmea: return "nmea";
  }
  return "unknown";
}

ParseSpec ParseSpec::key_value(KeyValueOptions options) {
  const char pair_sep = options.pair_separator;
  const char sep = options.kv_separator;
  if (pair_sep != ' ' && pair_sep != ',' && pair_sep != ';') {
    throw std::invalid_argument("kv spec: the pair separator must be ' ' (blanks), ',' or ';'");
  }
  if (sep != '=' && sep != ':') {
    throw std::invalid_argument("kv spec: the key/value separator must be '=' or ':'");
  }
  std::vector<std::string> names;
  std::set<std::string> keys;
  for (const auto& field : options.keys) {
    if (field.key.empty() || !is_plain_key(field.key) || field.key.find(sep) != std::string::npos ||
        field.key.find(pair_sep) != std::string::npos) {
      throw std::invalid_argument("kv spec: the key \"" + escape_for_log(field.key) +
                                  "\" must be printable ASCII without blanks or separators, at most " +
                                  std::to_string(max_key_length) + " bytes");
    }
    if (!keys.insert(field.key).second) {
      throw std::invalid_argument("kv spec: the key \"" + field.key + "\" is declared twice");
    }
    names.push_back(field.name);
  }
  require_names(names, "kv spec");
  return ParseSpec(KeyValueSpec{std::move(options)});
}

ParseSpec ParseSpec::csv(std::vector<Column> columns, char delimiter, bool quotes) {
  if (columns.empty()) throw std::invalid_argument("csv spec: no columns declared");
  if (delimiter == '\r' || delimiter == '\n' || delimiter == '\0' || (quotes && delimiter == '"')) {
    throw std::invalid_argument("csv spec: unusable delimiter");
  }
  std::vector<std::string> names;
  for (const auto& column : columns) names.push_back(column.name);
  require_names(names, "csv spec");
  return ParseSpec(CsvSpec{std::move(columns), delimiter, quotes});
}

ParseSpec ParseSpec::nmea(std::vector<NmeaField> fields, bool require_checksum) {
  if (fields.empty()) throw std::invalid_argument("nmea spec: no fields declared");
  std::set<std::pair<std::string, std::string>> seen;
  for (auto& field : fields) {
    if (!field.sentence.empty() && field.sentence.front() == '$') field.sentence.erase(0, 1);
    if (!is_nmea_address(field.sentence)) {
      throw std::invalid_argument("nmea spec: the sentence \"" + escape_for_log(field.sentence) +
                                  "\" must be an address like \"GPGGA\" or a formatter like \"GGA\"");
    }
    if (field.index == 0) {
      throw std::invalid_argument("nmea spec: field indexes start at 1 (the field after the address), in " +
                                  field.sentence + " for \"" + field.name + "\"");
    }
    if (field.name.empty()) throw std::invalid_argument("nmea spec: a field of " + field.sentence + " has an empty name");
    if (!seen.emplace(field.sentence, field.name).second) {
      throw std::invalid_argument("nmea spec: the name \"" + field.name + "\" is used twice in " + field.sentence);
    }
  }
  // A formatter ("GGA") and an address it matches ("GPGGA") select the same
  // sentences: one name in both would come twice from one line.
  for (std::size_t i = 0; i < fields.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (fields[i].name == fields[j].name && fields[i].sentence != fields[j].sentence &&
          (nmea_matches(fields[i].sentence, fields[j].sentence) || nmea_matches(fields[j].sentence, fields[i].sentence)))
        throw std::invalid_argument("nmea spec: the name \"" + fields[i].name + "\" is used in both " +
                                    fields[j].sentence + " and " + fields[i].sentence +
                                    ", which match the same sentences; one line would give it twice");
  return ParseSpec(NmeaSpec{std::move(fields), require_checksum});
}

ParseSpec::Kind ParseSpec::kind() const noexcept {
  return static_cast<Kind>(spec_.index());  // the variant's order is Kind's order
}

ParseResult ParseSpec::parse(std::string_view line) const {
  const std::string_view trimmed = trim_line(line);
  if (trimmed.empty()) return failure(ParseCode::empty_line, "empty line", line);
  return std::visit(
      [&](const auto& spec) {
        using T = std::decay_t<decltype(spec)>;
        if constexpr (std::is_same_v<T, KeyValueSpec>) return parse_key_value(spec, trimmed);
        else if constexpr (std::is_same_v<T, CsvSpec>) return parse_csv(spec, trimmed);
        else return parse_nmea(spec, trimmed);
      },
      spec_);
}

ParseResult ParseSpec::parse_key_value(const KeyValueSpec& spec, std::string_view line) {
  const KeyValueOptions& options = spec.options;
  std::string why;
  const auto pairs = options.pair_separator == ' '
                         ? split_blank_pairs(line, options.kv_separator, why)
                         : split_char_pairs(line, options.pair_separator, options.kv_separator, why);
  if (!pairs) return failure(ParseCode::malformed, why, line);
  if (pairs->empty()) return failure(ParseCode::malformed, "no key/value pairs", line);
  for (const Pair& pair : *pairs) {
    if (pair.key.empty()) return failure(ParseCode::malformed, "a pair without a key", line);
  }
  const auto first_with_key = [&](std::string_view key) {
    return std::find_if(pairs->begin(), pairs->end(), [&](const Pair& p) { return p.key == key; });
  };

  ParseResult result;
  if (options.keys.empty()) {
    std::set<std::string_view> seen;
    for (const Pair& pair : *pairs) {
      if (!is_plain_key(pair.key)) {
        return failure(ParseCode::malformed,
                       "the key " + quoted(pair.key) + " is not printable ASCII of at most " +
                           std::to_string(max_key_length) + " bytes",
                       line);
      }
      if (!seen.insert(pair.key).second) continue;  // the first of duplicates wins
      const std::string name(pair.key);
      if (!add_value(result, name, pair.text(), FieldType::automatic, "key " + name, line, pair.quoted)) return result;
    }
    return result;
  }
  for (const KeyField& field : options.keys) {
    const auto it = first_with_key(field.key);
    if (it == pairs->end()) {
      if (field.optional) continue;
      return failure(ParseCode::missing_field, "key \"" + field.key + "\" (" + field.name + ") missing", line);
    }
    if (!add_value(result, field.name, it->text(), field.type, "key " + field.key, line, it->quoted)) return result;
  }
  return result;
}

ParseResult ParseSpec::parse_csv(const CsvSpec& spec, std::string_view line) {
  std::string why;
  const auto fields = split_csv(line, spec.delimiter, spec.quotes, why);
  if (!fields) return failure(ParseCode::malformed, why, line);
  ParseResult result;
  for (const Column& column : spec.columns) {
    const std::string where = "column " + std::to_string(column.index);
    if (column.index >= fields->size()) {
      if (column.optional) continue;
      return failure(ParseCode::missing_field,
                     where + " (" + column.name + ") missing: the line has " +
                         std::to_string(fields->size()) + " columns",
                     line);
    }
    const std::string& text = (*fields)[column.index];
    if (!add_value(result, column.name, text, column.type, where, line)) return result;
  }
  return result;
}

ParseResult ParseSpec::parse_nmea(const NmeaSpec& spec, std::string_view line) {
  if (line.front() != '$') return failure(ParseCode::malformed, "not an NMEA sentence (no leading '$')", line);
  if (!std::all_of(line.begin(), line.end(), [](char c) { return c >= ' ' && c < 0x7F; })) {
    return failure(ParseCode::malformed, "a byte that is not printable ASCII in an NMEA sentence", line);
  }
  const std::size_t star = line.find('*');
  std::string_view body = line.substr(1, star == std::string_view::npos ? std::string_view::npos : star - 1);
  if (star == std::string_view::npos) {
    if (spec.require_checksum) return failure(ParseCode::missing_checksum, "no checksum (\"*HH\")", line);
  } else {
    const std::string_view given = line.substr(star + 1);
    if (given.size() != 2 || hex_value(given[0]) < 0 || hex_value(given[1]) < 0) {
      return failure(ParseCode::bad_checksum, "the checksum " + quoted(given) + " is not two hex digits", line);
    }
    const unsigned expected = static_cast<unsigned>(hex_value(given[0]) * 16 + hex_value(given[1]));
    const unsigned computed = nmea_checksum(body);
    if (expected != computed) {
      return failure(ParseCode::bad_checksum,
                     "checksum mismatch (computed " + hex_byte(computed) + ", sentence says " +
                         hex_byte(expected) + ")",
                     line);
    }
  }

  std::vector<std::string_view> fields;
  for (std::size_t start = 0;;) {
    const std::size_t comma = body.find(',', start);
    fields.push_back(body.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  const std::string_view address = fields.front();
  if (!is_nmea_address(address)) {
    return failure(ParseCode::malformed, "the address " + quoted(address) + " is not 1 to 8 of A-Z 0-9", line);
  }

  ParseResult result;
  bool known = false;
  for (const NmeaField& field : spec.fields) {
    if (!nmea_matches(field.sentence, address)) continue;
    known = true;
    const std::string where = std::string(address) + " field " + std::to_string(field.index);
    if (field.index >= fields.size()) {
      if (field.optional) continue;
      return failure(ParseCode::missing_field,
                     where + " (" + field.name + ") missing: the sentence has " +
                         std::to_string(fields.size() - 1) + " fields",
                     line);
    }
    if (!add_value(result, field.name, fields[field.index], field.type, where, line)) return result;
  }
  if (!known) {
    return failure(ParseCode::unknown_sentence, "sentence " + std::string(address) + " not configured, ignored",
                   line);
  }
  return result;
}

}  // namespace weft::ascii
