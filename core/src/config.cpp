// Configuration on top of toml++: every lookup goes through one table's state, which
// records the keys read so that reject_unknown_keys() can catch typos. Errors are
// always ConfigError located at file:line:column; durations convert to nanoseconds
// with integer arithmetic only, so "1.5s" is exactly 1'500'000'000ns or an error.
#ifndef TOML_HEADER_ONLY
#define TOML_HEADER_ONLY 0
#endif
#ifndef TOML_SHARED_LIB
#define TOML_SHARED_LIB 1
#endif

#include "weft/core/config.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <set>
#include <system_error>
#include <tuple>
#include <utility>

#include <toml++/toml.h>

#if !TOML_EXCEPTIONS
#error "config.cpp expects toml++ built with exceptions (Debian's libtomlplusplus is)"
#endif

namespace weft::detail {

struct TableState {
  const toml::table* table;
  std::string path;   // "service.heartbeat", "instrument[1]", "" for the root
  std::string label;  // how messages name the table: "[service.heartbeat]"
  std::set<std::string, std::less<>> used;
  // What each getter returned (the file's value, or its fallback), as TOML text.
  std::map<std::string, std::string, std::less<>> effective;
};

struct ConfigDocument {
  std::string source_name;
  toml::table root;
  std::mutex mutex;  // guards states and every TableState::used
  std::map<const toml::table*, TableState> states;
  TableState* root_state = nullptr;
};

}  // namespace weft::detail

namespace weft {
namespace {

using detail::ConfigDocument;
using detail::TableState;

constexpr std::string_view kUnitList = "ns, us, ms, s, m, h, d";

// ---- naming and locating -------------------------------------------------

bool is_bare_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string quote_key(std::string_view key) {
  if (is_bare_key(key)) return std::string(key);
  std::string quoted = "\"";  // appended, not "\"" + key: GCC 12 -O3 warns falsely on that
  quoted.append(key);
  quoted += '"';
  return quoted;
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? quote_key(key) : path + "." + quote_key(key);
}

std::string location(const std::string& source_name, const toml::source_region& region) {
  if (region.begin.line == 0) return source_name;
  return source_name + ":" + std::to_string(region.begin.line) + ":" + std::to_string(region.begin.column);
}

ConfigError error_at(const std::string& source_name, const toml::source_region& region,
                     std::string_view subject, std::string_view message) {
  return ConfigError(location(source_name, region) + ": " + std::string(subject) + ": " + std::string(message));
}

// ---- describing values ---------------------------------------------------

std::string format_double(double value) {
  std::array<char, 64> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

// A string as a TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string \"" + node.as_string()->get() + "\"";
    case toml::node_type::integer: return "integer " + std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point: return "float " + format_double(node.as_floating_point()->get());
    case toml::node_type::boolean: return node.as_boolean()->get() ? "boolean true" : "boolean false";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// ---- per-table bookkeeping -----------------------------------------------

TableState* state_for(ConfigDocument& document, const toml::table& table, std::string path, std::string label) {
  std::lock_guard lock(document.mutex);
  auto [it, inserted] = document.states.try_emplace(&table, TableState{&table, std::move(path), std::move(label), {}, {}});
  return &it->second;
}

// Looks the key up and records it as read, whether or not it is present.
const toml::node* use_key(ConfigDocument& document, TableState& state, std::string_view key) {
  std::lock_guard lock(document.mutex);
  if (state.used.find(key) == state.used.end()) state.used.emplace(key);
  return state.table->get(key);
}

// Records what a getter returned for `key`, so two configs compare by effect.
void record_effective(ConfigDocument& document, TableState& state, std::string_view key, std::string text) {
  std::lock_guard lock(document.mutex);
  state.effective.insert_or_assign(std::string(key), std::move(text));
}

std::set<std::string, std::less<>> used_keys(ConfigDocument& document, const TableState& state) {
  std::lock_guard lock(document.mutex);
  return state.used;
}

using Entry = std::pair<const toml::key*, const toml::node*>;

// toml::table is ordered by name; the keys' source positions give the file order.
std::vector<Entry> entries_in_file_order(const toml::table& table) {
  std::vector<Entry> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return std::tuple(pa.line, pa.column, a.first->str()) < std::tuple(pb.line, pb.column, b.first->str());
  });
  return entries;
}

std::string comma_list(const std::set<std::string, std::less<>>& names) {
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + quote_key(name);
  return list;
}

std::string unknown_key_message(const std::string& source_name, const toml::key& key, const TableState& state,
                                const std::set<std::string, std::less<>>& known) {
  std::string message = location(source_name, key.source()) + ": unknown key '" + std::string(key.str()) +
                        "' in " + state.label + "; ";
  if (known.empty()) return message + "nothing is read from this table. Remove the key.";
  return message + "known keys here are: " + comma_list(known) + ". Check the spelling.";
}

// ---- durations -----------------------------------------------------------

struct DurationUnit {
  std::string_view name;
  std::int64_t ns;
};

constexpr std::array<DurationUnit, 7> kUnits{{
    {"d", 86'400'000'000'000},
    {"h", 3'600'000'000'000},
    {"m", 60'000'000'000},
    {"s", 1'000'000'000},
    {"ms", 1'000'000},
    {"us", 1'000},
    {"ns", 1},
}};

const DurationUnit* find_unit(std::string_view name) {
  for (const auto& unit : kUnits)
    if (unit.name == name) return &unit;
  return nullptr;
}

// The largest unit that divides the value exactly: 90s → "90s", 3600s → "1h".
std::string format_duration(Duration value) {
  const std::int64_t ns = value.count();
  for (const auto& unit : kUnits)
    if (ns != 0 && ns % unit.ns == 0) return std::to_string(ns / unit.ns) + std::string(unit.name);
  return std::to_string(ns) + "ns";
}

struct ParsedDuration {
  Duration value{};
  std::string problem;  // empty on success
};

ParsedDuration duration_problem(std::string text) { return {Duration::zero(), std::move(text)}; }

std::string_view take_digits(std::string_view& text) {
  const auto end = std::find_if(text.begin(), text.end(), [](char c) { return c < '0' || c > '9'; });
  const auto digits = text.substr(0, static_cast<std::size_t>(end - text.begin()));
  text.remove_prefix(digits.size());
  return digits;
}

// Decimal digits as an integer, or nullopt when the value exceeds INT64_MAX.
std::optional<std::int64_t> to_int64(std::string_view digits) {
  std::int64_t value = 0;
  const auto result = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (result.ec != std::errc{}) return std::nullopt;
  return value;
}

// whole.fraction × unit in ns, exactly, or a problem when it is too fine or too large.
ParsedDuration to_nanoseconds(std::string_view whole, std::string_view fraction, const DurationUnit& unit) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::string too_large = "is too large; the longest duration is 106751d (about 292 years).";
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  const std::string too_fine = "is finer than 1ns; round it to whole nanoseconds.";
  if (fraction.size() > 18) return duration_problem(too_fine);

  std::int64_t fraction_ns = 0;
  if (!fraction.empty()) {
    const std::int64_t numerator = *to_int64(fraction);
    std::int64_t denominator = 1;
    for (std::size_t i = 0; i < fraction.size(); ++i) denominator *= 10;
    const std::int64_t common = std::gcd(unit.ns, denominator);
    if (numerator % (denominator / common) != 0) return duration_problem(too_fine);
    fraction_ns = numerator / (denominator / common) * (unit.ns / common);  // < unit.ns: no overflow
  }
  const auto whole_value = to_int64(whole);
  if (!whole_value || *whole_value > (kMax - fraction_ns) / unit.ns) return duration_problem(too_large);
  return {Duration(*whole_value * unit.ns + fraction_ns), {}};
}

std::string with_unit_hint(std::string_view number) {
  return "write e.g. \"" + std::string(number) + "s\" (units: " + std::string(kUnitList) + ").";
}

// "<digits>[.<digits>][spaces]<unit>"; each problem is a sentence ending in a remedy.
ParsedDuration parse_duration(const std::string_view original) {
  const std::string format_hint = "Write a number and a unit, e.g. \"250ms\" or \"1.5s\" (units: " +
                                  std::string(kUnitList) + ").";
  std::string_view text = original;
  if (text.empty()) return duration_problem("is empty. " + format_hint);
  if (text.front() == '-') return duration_problem("is negative; durations are zero or more, e.g. \"1s\".");
  const std::string_view whole = take_digits(text);
  if (whole.empty()) return duration_problem("does not start with a number. " + format_hint);
  std::string_view fraction;
  if (!text.empty() && text.front() == '.') {
    text.remove_prefix(1);
    fraction = take_digits(text);
    if (fraction.empty()) return duration_problem("has no digits after the decimal point. " + format_hint);
  }
  const std::string_view number = original.substr(0, original.size() - text.size());
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (text.empty()) return duration_problem("has no unit; " + with_unit_hint(number));
  const DurationUnit* unit = find_unit(text);
  if (unit == nullptr)
    return duration_problem("has an unknown unit '" + std::string(text) + "'; " + with_unit_hint(number));
  return to_nanoseconds(whole, fraction, *unit);
}

std::string range_text(std::string_view what, const std::string& min, bool has_min, const std::string& max,
                       bool has_max) {
  if (has_min && has_max) return "expected " + std::string(what) + " from " + min + " to " + max;
  if (has_min) return "expected " + std::string(what) + " of at least " + min;
  return "expected " + std::string(what) + " of at most " + max;
}

// The number a user wrote without a unit, to suggest the same number with one.
std::string bare_number_text(const toml::node& node) {
  if (const auto* value = node.as_integer()) return std::to_string(value->get());
  if (const auto* value = node.as_floating_point()) return format_double(value->get());
  return "5";
}

// ---- reading files -------------------------------------------------------

std::string errno_text(int error) { return std::error_code(error, std::generic_category()).message(); }

struct CloseFile {
  void operator()(std::FILE* stream) const { std::fclose(stream); }
};

std::string read_file(const std::filesystem::path& file) {
  const auto fail = [&](int error) {
    return ConfigError(file.string() + ": cannot read config file: " + errno_text(error) +
                       ". Check the path and its permissions.");
  };
  std::unique_ptr<std::FILE, CloseFile> stream(std::fopen(file.c_str(), "rb"));
  if (!stream) throw fail(errno);
  std::string text;
  std::array<char, 8192> buffer{};
  while (const std::size_t count = std::fread(buffer.data(), 1, buffer.size(), stream.get()))
    text.append(buffer.data(), count);
  if (std::ferror(stream.get())) throw fail(errno);
  return text;
}

toml::table parse_toml(std::string_view text, const std::string& source_name) {
  try {
    return toml::parse(text, std::string_view(source_name));
  } catch (const toml::parse_error& error) {
    throw ConfigError(location(source_name, error.source()) + ": " + std::string(error.description()));
  }
}

}  // namespace

// ---- ConfigSection -------------------------------------------------------

ConfigSection::ConfigSection(std::shared_ptr<detail::ConfigDocument> document, detail::TableState* state)
    : document_(std::move(document)), state_(state) {}

ConfigSection ConfigSection::child(detail::TableState* state) const { return ConfigSection(document_, state); }

const std::string& ConfigSection::path() const { return state_->path; }

bool ConfigSection::has(std::string_view key) const { return state_->table->get(key) != nullptr; }

std::string ConfigSection::where(std::string_view key) const {
  const toml::node* node = state_->table->get(key);
  return location(document_->source_name, node ? node->source() : state_->table->source());
}

void ConfigSection::fail(std::string_view key, std::string_view message) const {
  throw ConfigError(where(key) + ": " + join(path(), key) + ": " + std::string(message));
}

std::string ConfigSection::string(std::string_view key, std::string fallback) const {
  const toml::node* node = use_key(*document_, *state_, key);
  if (node != nullptr && !node->is_string())
    fail(key, "expected a string, got " + describe(*node) + ". Write it in quotes, e.g. " + quote_key(key) +
                  " = \"text\".");
  std::string result = node != nullptr ? node->as_string()->get() : std::move(fallback);
  record_effective(*document_, *state_, key, toml_string(result));
  return result;
}

std::string ConfigSection::required_string(std::string_view key) const {
  if (use_key(*document_, *state_, key) == nullptr)
    fail(key, "is required but missing. Add " + quote_key(key) + " = \"...\" to " + state_->label + ".");
  return string(key, {});
}

std::int64_t ConfigSection::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                    std::int64_t max) const {
  const toml::node* node = use_key(*document_, *state_, key);
  if (node == nullptr) {
    record_effective(*document_, *state_, key, std::to_string(fallback));
    return fallback;
  }
  const auto* value = node->as_integer();
  if (value == nullptr)
    fail(key, "expected an integer, got " + describe(*node) + ". Write a whole number, e.g. " + quote_key(key) +
                  " = 10.");
  const std::int64_t n = value->get();
  if (n < min || n > max)
    fail(key, std::to_string(n) + " is out of range; " +
                  range_text("an integer", std::to_string(min), min != INT64_MIN, std::to_string(max),
                             max != INT64_MAX) +
                  ".");
  record_effective(*document_, *state_, key, std::to_string(n));
  return n;
}

double ConfigSection::number(std::string_view key, double fallback) const {
  const toml::node* node = use_key(*document_, *state_, key);
  double result = fallback;
  if (node != nullptr) {
    if (const auto* value = node->as_floating_point()) result = value->get();
    else if (const auto* value = node->as_integer()) result = static_cast<double>(value->get());
    else fail(key, "expected a number, got " + describe(*node) + ". Write e.g. " + quote_key(key) + " = 1.5.");
  }
  record_effective(*document_, *state_, key, format_double(result));
  return result;
}

bool ConfigSection::boolean(std::string_view key, bool fallback) const {
  const toml::node* node = use_key(*document_, *state_, key);
  if (node != nullptr && !node->is_boolean())
    fail(key, "expected true or false, got " + describe(*node) + ". Write " + quote_key(key) +
                  " = true or false, without quotes.");
  const bool result = node != nullptr ? node->as_boolean()->get() : fallback;
  record_effective(*document_, *state_, key, result ? "true" : "false");
  return result;
}

Duration ConfigSection::duration(std::string_view key, Duration fallback, Duration min, Duration max) const {
  const toml::node* node = use_key(*document_, *state_, key);
  if (node == nullptr) {
    record_effective(*document_, *state_, key, toml_string(format_duration(fallback)));
    return fallback;
  }
  const auto* text = node->as_string();
  if (text == nullptr) {
    const std::string example = bare_number_text(*node) + "s";
    fail(key, "expected a duration with a unit, got " + describe(*node) + ". Write e.g. " + quote_key(key) +
                  " = \"" + example + "\" (units: " + std::string(kUnitList) + ").");
  }
  const ParsedDuration parsed = parse_duration(text->get());
  if (!parsed.problem.empty())
    fail(key, "duration \"" + text->get() + "\" " + parsed.problem);
  if (parsed.value < min || parsed.value > max)
    fail(key, format_duration(parsed.value) + " is out of range; " +
                  range_text("a duration", format_duration(min), min != Duration::zero(), format_duration(max),
                             max != Duration::max()) +
                  ".");
  record_effective(*document_, *state_, key, toml_string(format_duration(parsed.value)));
  return parsed.value;
}

std::vector<std::string> ConfigSection::string_array(std::string_view key) const {
  const toml::node* node = use_key(*document_, *state_, key);
  if (node == nullptr) {
    record_effective(*document_, *state_, key, "[]");
    return {};
  }
  const auto* array = node->as_array();
  if (array == nullptr)
    fail(key, "expected a list of strings, got " + describe(*node) + ". Write e.g. " + quote_key(key) +
                  " = [\"a\", \"b\"].");
  std::vector<std::string> strings;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const auto* value = element.as_string();
    if (value == nullptr)
      throw error_at(document_->source_name, element.source(), join(path(), key) + "[" + std::to_string(i) + "]",
                     "expected a string, got " + describe(element) + ". Put every element in quotes.");
    strings.push_back(value->get());
  }
  std::string text = "[";
  for (const auto& element : strings) text += (text.size() > 1 ? ", " : "") + toml_string(element);
  record_effective(*document_, *state_, key, text + "]");
  return strings;
}

std::vector<double> ConfigSection::number_array(std::string_view key) const {
  const toml::node* node = use_key(*document_, *state_, key);
  if (node == nullptr) {
    record_effective(*document_, *state_, key, "[]");
    return {};
  }
  const auto* array = node->as_array();
  if (array == nullptr)
    fail(key, "expected a list of numbers, got " + describe(*node) + ". Write e.g. " + quote_key(key) +
                  " = [1.0, 2.5].");
  std::vector<double> numbers;
  numbers.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (const auto* f = element.as_floating_point()) numbers.push_back(f->get());
    else if (const auto* n = element.as_integer()) numbers.push_back(static_cast<double>(n->get()));
    else
      throw error_at(document_->source_name, element.source(), join(path(), key) + "[" + std::to_string(i) + "]",
                     "expected a number, got " + describe(element) + ". Write every element as a number, e.g. 1.5.");
  }
  std::string text = "[";
  for (const double d : numbers) text += (text.size() > 1 ? ", " : "") + format_double(d);
  record_effective(*document_, *state_, key, text + "]");
  return numbers;
}

std::optional<ConfigSection> ConfigSection::table(std::string_view key) const {
  const toml::node* node = use_key(*document_, *state_, key);
  if (node == nullptr) return std::nullopt;
  const auto* table = node->as_table();
  if (table == nullptr)
    fail(key, "expected a table, got " + describe(*node) + ". Write it as [" + join(path(), key) + "] or " +
                  quote_key(key) + " = { ... }.");
  const std::string full = join(path(), key);
  return child(state_for(*document_, *table, full, "[" + full + "]"));
}

std::vector<ConfigSection> ConfigSection::tables(std::string_view key) const {
  const toml::node* node = use_key(*document_, *state_, key);
  if (node == nullptr) return {};
  const std::string full = join(path(), key);
  const auto* array = node->as_array();
  if (array == nullptr)
    fail(key, "expected an array of tables, got " + describe(*node) + ". Start each entry with [[" + full + "]].");
  std::vector<ConfigSection> sections;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    const std::string element_path = full + "[" + std::to_string(i) + "]";
    const auto* table = element.as_table();
    if (table == nullptr)
      throw error_at(document_->source_name, element.source(), element_path,
                     "expected a table, got " + describe(element) + ". Start each entry with [[" + full + "]].");
    const std::string label = "[[" + full + "]] #" + std::to_string(i + 1);
    sections.push_back(child(state_for(*document_, *table, element_path, label)));
  }
  return sections;
}

std::vector<std::string> ConfigSection::keys() const {
  std::vector<std::string> names;
  for (const auto& [key, node] : entries_in_file_order(*state_->table)) names.emplace_back(key->str());
  return names;
}

std::optional<std::string> ConfigSection::value_as_toml(std::string_view key) const {
  const toml::node* node = state_->table->get(key);
  if (node == nullptr || node->is_table() || node->is_array_of_tables()) return std::nullopt;
  std::ostringstream out;
  out << toml::toml_formatter(*node, toml::format_flags::none);
  return out.str();
}

std::map<std::string, std::string> ConfigSection::effective_values() const {
  std::lock_guard lock(document_->mutex);
  return {state_->effective.begin(), state_->effective.end()};
}

const std::string& ConfigSection::source_name() const { return document_->source_name; }

Config ConfigSection::document() const { return Config(document_); }

void ConfigSection::reject_unknown_keys() const {
  const auto known = used_keys(*document_, *state_);
  for (const auto& [key, node] : entries_in_file_order(*state_->table))
    if (known.find(key->str()) == known.end())
      throw ConfigError(unknown_key_message(document_->source_name, *key, *state_, known));
}

// ---- Config --------------------------------------------------------------

Config::Config(std::shared_ptr<detail::ConfigDocument> document) : document_(std::move(document)) {}

Config Config::load_file(const std::filesystem::path& file) { return parse(read_file(file), file.string()); }

Config Config::parse(std::string_view text, std::string source_name) {
  auto document = std::make_shared<detail::ConfigDocument>();
  document->source_name = std::move(source_name);
  document->root = parse_toml(text, document->source_name);
  document->root_state = state_for(*document, document->root, "", "the top level");
  return Config(std::move(document));
}

ConfigSection Config::root() const { return ConfigSection(document_, document_->root_state); }

const std::string& Config::source_name() const { return document_->source_name; }

}  // namespace weft
