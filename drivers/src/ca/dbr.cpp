// DBR layouts and conversions. One table gives every code's value offset and
// size (checked against libca's dbr_size/dbr_value_offset tables, §5.2); the
// GR/CTRL metadata offsets per value type follow §5.3. Decoding checks the
// whole size (count * element + metadata, in 64-bit arithmetic) against the
// payload before reading a byte, and reads strings only inside their field.
#include "weft/drivers/ca/dbr.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "weft/drivers/ca/convert.hpp"
#include "wire.hpp"

namespace weft::ca {
namespace {

using Bytes = std::span<std::uint8_t>;
using CBytes = std::span<const std::uint8_t>;

constexpr std::array<std::size_t, 7> value_sizes = {40, 2, 4, 2, 1, 4, 8};
// value_offset per family (plain, sts, time, gr, ctrl) and value type.
constexpr std::array<std::array<std::size_t, 7>, 5> value_offsets = {{
    {0, 0, 0, 0, 0, 0, 0},
    {4, 4, 4, 4, 5, 4, 8},
    {12, 14, 12, 14, 15, 12, 16},
    {4, 24, 40, 422, 19, 36, 64},
    {4, 28, 48, 422, 21, 44, 80},
}};

bool is_integral(ValueType t) noexcept {
  return t == ValueType::int16 || t == ValueType::uint8 || t == ValueType::int32 || t == ValueType::enumerated;
}

// Where the GR/CTRL numeric metadata sits for a value type: the offset of
// the precision (or -1), of the units, of the first limit, and the limit size.
struct MetaLayout {
  int precision_at;
  std::size_t units_at;
  std::size_t limits_at;
};

MetaLayout meta_layout(ValueType t) noexcept {
  switch (t) {
    case ValueType::float32: return {4, 8, 16};
    case ValueType::float64: return {4, 8, 16};
    case ValueType::int16:
    case ValueType::uint8:
    case ValueType::int32: return {-1, 4, 12};
    case ValueType::string:
    case ValueType::enumerated: break;
  }
  return {-1, 0, 0};
}

// A number as the target's wire representation would hold it.
double narrow(double v, ValueType t) noexcept {
  switch (t) {
    case ValueType::int16: return saturate<std::int16_t>(v);
    case ValueType::enumerated: return saturate<std::uint16_t>(v);
    case ValueType::uint8: return saturate<std::uint8_t>(v);
    case ValueType::int32: return saturate<std::int32_t>(v);
    case ValueType::float32:
      if (std::isfinite(v) && std::fabs(v) > std::numeric_limits<float>::max()) {
        return v < 0 ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
      }
      return static_cast<double>(static_cast<float>(v));
    case ValueType::float64:
    case ValueType::string: break;
  }
  return v;
}

void store_number(Bytes b, std::size_t at, ValueType t, double v) noexcept {
  switch (t) {
    case ValueType::int16: wire::store16(b, at, static_cast<std::uint16_t>(saturate<std::int16_t>(v))); break;
    case ValueType::enumerated: wire::store16(b, at, saturate<std::uint16_t>(v)); break;
    case ValueType::uint8: b[at] = saturate<std::uint8_t>(v); break;
    case ValueType::int32: wire::store32(b, at, static_cast<std::uint32_t>(saturate<std::int32_t>(v))); break;
    case ValueType::float32: wire::store_f32(b, at, static_cast<float>(narrow(v, ValueType::float32))); break;
    case ValueType::float64: wire::store_f64(b, at, v); break;
    case ValueType::string: break;
  }
}

double load_number(CBytes b, std::size_t at, ValueType t) noexcept {
  switch (t) {
    case ValueType::int16: return static_cast<std::int16_t>(wire::load16(b, at));
    case ValueType::enumerated: return wire::load16(b, at);
    case ValueType::uint8: return b[at];
    case ValueType::int32: return static_cast<std::int32_t>(wire::load32(b, at));
    case ValueType::float32: return wire::load_f32(b, at);
    case ValueType::float64: return wire::load_f64(b, at);
    case ValueType::string: break;
  }
  return 0;
}

// Copies at most field - 1 characters and leaves the rest of the field zero.
void store_text(Bytes b, std::size_t at, std::size_t field, std::string_view text) noexcept {
  const std::size_t n = std::min(text.size(), field - 1);
  std::copy_n(text.begin(), n, b.begin() + static_cast<std::ptrdiff_t>(at));
}

Result<std::string> load_text(CBytes b, std::size_t at, std::size_t field, std::string_view what) {
  const auto first = b.begin() + static_cast<std::ptrdiff_t>(at);
  const auto last = first + static_cast<std::ptrdiff_t>(field);
  const auto nul = std::find(first, last, std::uint8_t{0});
  if (nul == last) {
    return Error{errc::unterminated_string,
                 std::string(what) + " has no NUL within its " + std::to_string(field) + "-byte field"};
  }
  return std::string(first, nul);
}

std::string element_name(std::size_t i) { return "element " + std::to_string(i); }

Result<double> text_to_number(std::string_view text, ValueType target, const Metadata& meta, std::size_t i) {
  if (target == ValueType::enumerated) {
    const auto named = std::find(meta.enum_strings.begin(), meta.enum_strings.end(), text);
    if (named != meta.enum_strings.end() && named - meta.enum_strings.begin() < std::ptrdiff_t{max_enum_states}) {
      return static_cast<double>(named - meta.enum_strings.begin());
    }
  }
  std::optional<double> number;
  switch (target) {
    case ValueType::int16: number = parse_integer(text, -32768, 32767); break;
    case ValueType::enumerated: number = parse_integer(text, 0, 65535); break;
    case ValueType::uint8: number = parse_integer(text, 0, 255); break;
    case ValueType::int32: number = parse_integer(text, std::numeric_limits<std::int32_t>::min(),
                                                  std::numeric_limits<std::int32_t>::max());
      break;
    case ValueType::float32:
    case ValueType::float64: number = parse_double(text); break;
    case ValueType::string: break;
  }
  if (!number) {
    return Error{errc::no_convert, element_name(i) + " \"" + std::string(text.substr(0, 40)) +
                                       "\" is not a decimal " + std::string(to_string(target)) +
                                       (target == ValueType::enumerated ? " or a state name" : "")};
  }
  return narrow(*number, target);
}

std::string number_to_text(double v, ValueType from, const Metadata& meta) {
  if (from == ValueType::enumerated && v >= 0 && v < static_cast<double>(meta.enum_strings.size())) {
    return meta.enum_strings[static_cast<std::size_t>(v)];
  }
  std::optional<int> precision;
  if (meta.precision) precision = *meta.precision;
  return format_number(v, is_integral(from), precision);
}

void store_metadata(Bytes b, const DbrLayout& layout, const Metadata& meta) {
  const ValueType t = layout.value_type;
  if (t == ValueType::string) return;  // GR/CTRL_STRING have the STS layout
  if (t == ValueType::enumerated) {
    const std::size_t states = std::min(meta.enum_strings.size(), max_enum_states);
    wire::store16(b, 4, static_cast<std::uint16_t>(states));
    for (std::size_t i = 0; i < states; ++i) {
      store_text(b, 6 + i * max_enum_string_size, max_enum_string_size, meta.enum_strings[i]);
    }
    return;
  }
  const MetaLayout m = meta_layout(t);
  if (m.precision_at >= 0) {
    wire::store16(b, static_cast<std::size_t>(m.precision_at), static_cast<std::uint16_t>(meta.precision.value_or(0)));
  }
  store_text(b, m.units_at, max_units_size, meta.units);
  const std::size_t step = value_sizes[static_cast<std::size_t>(t)];
  std::array<double, 8> limits = {meta.upper_disp,    meta.lower_disp,  meta.upper_alarm, meta.upper_warning,
                                  meta.lower_warning, meta.lower_alarm, meta.upper_ctrl,  meta.lower_ctrl};
  const std::size_t n = layout.family == Family::ctrl ? 8 : 6;
  for (std::size_t i = 0; i < n; ++i) store_number(b, m.limits_at + i * step, t, limits[i]);
}

Result<Metadata> load_metadata(CBytes b, const DbrLayout& layout) {
  Metadata meta;
  const ValueType t = layout.value_type;
  if (t == ValueType::string) return meta;
  if (t == ValueType::enumerated) {
    const std::uint16_t states = wire::load16(b, 4);
    if (states > max_enum_states) {
      return Error{errc::bad_count, "enum state count " + std::to_string(states) + " above 16"};
    }
    for (std::size_t i = 0; i < states; ++i) {
      auto name = load_text(b, 6 + i * max_enum_string_size, max_enum_string_size,
                            "enum state string " + std::to_string(i));
      if (auto* e = std::get_if<Error>(&name)) return std::move(*e);
      meta.enum_strings.push_back(std::move(std::get<std::string>(name)));
    }
    return meta;
  }
  const MetaLayout m = meta_layout(t);
  if (m.precision_at >= 0) {
    meta.precision = static_cast<std::int16_t>(wire::load16(b, static_cast<std::size_t>(m.precision_at)));
  }
  auto units = load_text(b, m.units_at, max_units_size, "units");
  if (auto* e = std::get_if<Error>(&units)) return std::move(*e);
  meta.units = std::move(std::get<std::string>(units));
  const std::size_t step = value_sizes[static_cast<std::size_t>(t)];
  std::array<double*, 8> limits = {&meta.upper_disp,    &meta.lower_disp,  &meta.upper_alarm, &meta.upper_warning,
                                   &meta.lower_warning, &meta.lower_alarm, &meta.upper_ctrl,  &meta.lower_ctrl};
  const std::size_t n = layout.family == Family::ctrl ? 8 : 6;
  for (std::size_t i = 0; i < n; ++i) *limits[i] = load_number(b, m.limits_at + i * step, t);
  return meta;
}

}  // namespace

std::string_view to_string(ValueType type) noexcept {
  switch (type) {
    case ValueType::string: return "STRING";
    case ValueType::int16: return "SHORT";
    case ValueType::float32: return "FLOAT";
    case ValueType::enumerated: return "ENUM";
    case ValueType::uint8: return "CHAR";
    case ValueType::int32: return "LONG";
    case ValueType::float64: return "DOUBLE";
  }
  return "unknown";
}

std::string dbr_name(std::uint16_t code) {
  switch (code) {
    case dbr_put_ackt: return "DBR_PUT_ACKT";
    case dbr_put_acks: return "DBR_PUT_ACKS";
    case dbr_stsack_string: return "DBR_STSACK_STRING";
    case dbr_class_name: return "DBR_CLASS_NAME";
    default: break;
  }
  if (code > dbr_last_type) return "DBR_?(" + std::to_string(code) + ")";
  static constexpr std::array<std::string_view, 5> families = {"DBR_", "DBR_STS_", "DBR_TIME_", "DBR_GR_", "DBR_CTRL_"};
  return std::string(families[code / 7]) + std::string(to_string(static_cast<ValueType>(code % 7)));
}

std::optional<DbrLayout> dbr_layout(std::uint16_t code) noexcept {
  if (code <= 34) {
    const auto type = static_cast<ValueType>(code % 7);
    const auto family = static_cast<Family>(code / 7);
    return DbrLayout{type, family, value_offsets[code / 7][code % 7], value_sizes[code % 7]};
  }
  switch (code) {
    case dbr_put_ackt:
    case dbr_put_acks: return DbrLayout{ValueType::enumerated, Family::plain, 0, 2};
    case dbr_stsack_string: return DbrLayout{ValueType::string, Family::sts, 8, 40};
    case dbr_class_name: return DbrLayout{ValueType::string, Family::plain, 0, 40};
    default: break;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> dbr_payload_size(std::uint16_t code, std::uint64_t count) noexcept {
  const auto layout = dbr_layout(code);
  if (!layout) return std::nullopt;
  return layout->value_offset + count * layout->value_size;
}

std::size_t Value::size() const noexcept {
  return std::visit([](const auto& v) { return v.size(); }, elements);
}

Result<Elements> convert_elements(const Elements& from, ValueType from_type, ValueType target, const Metadata& meta) {
  if (const auto* texts = std::get_if<std::vector<std::string>>(&from)) {
    if (target == ValueType::string) return Elements{*texts};
    std::vector<double> numbers;
    numbers.reserve(texts->size());
    for (std::size_t i = 0; i < texts->size(); ++i) {
      auto n = text_to_number((*texts)[i], target, meta, i);
      if (auto* e = std::get_if<Error>(&n)) return std::move(*e);
      numbers.push_back(std::get<double>(n));
    }
    return Elements{std::move(numbers)};
  }
  const auto& numbers = std::get<std::vector<double>>(from);
  if (target == ValueType::string) {
    std::vector<std::string> texts;
    texts.reserve(numbers.size());
    for (const double v : numbers) texts.push_back(number_to_text(v, from_type, meta));
    return Elements{std::move(texts)};
  }
  std::vector<double> out;
  out.reserve(numbers.size());
  for (const double v : numbers) out.push_back(narrow(v, target));
  return Elements{std::move(out)};
}

Result<std::vector<std::uint8_t>> encode_dbr(std::uint16_t code, std::uint32_t count, const Value& value,
                                             const Limits& limits) {
  const auto layout = dbr_layout(code);
  if (!layout) return Error{errc::bad_type, "DBR type " + std::to_string(code) + " above 38"};
  if (code == dbr_put_ackt || code == dbr_put_acks) {
    return Error{errc::bad_type, dbr_name(code) + " is write-only"};
  }
  const std::uint64_t values = std::uint64_t{count} * layout->value_size;
  if (values > limits.max_array_bytes) {
    return Error{errc::too_large, dbr_name(code) + " x " + std::to_string(count) + " is " + std::to_string(values) +
                                      " bytes of values, above max_array_bytes " +
                                      std::to_string(limits.max_array_bytes)};
  }
  auto converted = convert_elements(value.elements, value.type, layout->value_type, value.meta);
  if (auto* e = std::get_if<Error>(&converted)) return std::move(*e);
  const Elements& elements = std::get<Elements>(converted);

  std::vector<std::uint8_t> out(layout->value_offset + std::size_t{count} * layout->value_size, 0);
  const Bytes b(out);
  if (layout->family != Family::plain) {
    wire::store16(b, 0, static_cast<std::uint16_t>(value.alarm.status));
    wire::store16(b, 2, static_cast<std::uint16_t>(value.alarm.severity));
  }
  if (layout->family == Family::time) {
    wire::store32(b, 4, value.stamp.sec_past_epoch);
    wire::store32(b, 8, value.stamp.nsec);
  }
  if (layout->family == Family::gr || layout->family == Family::ctrl) store_metadata(b, *layout, value.meta);
  if (code == dbr_class_name) {
    // No record types here: every PV is of the same class. Count 0 carries
    // no element to hold the name (found by tests/fuzz/ca_dbr).
    if (count > 0) store_text(b, 0, max_string_size, "weft");
    return out;
  }
  const std::size_t n = std::min<std::size_t>(count, value.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t at = layout->value_offset + i * layout->value_size;
    if (const auto* texts = std::get_if<std::vector<std::string>>(&elements)) {
      store_text(b, at, max_string_size, (*texts)[i]);
    } else {
      store_number(b, at, layout->value_type, std::get<std::vector<double>>(elements)[i]);
    }
  }
  return out;
}

Result<Decoded> decode_dbr(std::uint16_t code, std::uint32_t count, std::span<const std::uint8_t> payload,
                           const Limits& limits) {
  const auto layout = dbr_layout(code);
  if (!layout) return Error{errc::bad_type, "DBR type " + std::to_string(code) + " above 38"};
  const std::string name = dbr_name(code);
  const std::uint64_t values = std::uint64_t{count} * layout->value_size;
  if (values > limits.max_array_bytes) {
    return Error{errc::too_large, name + " x " + std::to_string(count) + " is " + std::to_string(values) +
                                      " bytes of values, above max_array_bytes " +
                                      std::to_string(limits.max_array_bytes)};
  }
  const std::uint64_t needed = layout->value_offset + values;
  // A scalar DBR_STRING write may carry only strlen + 1 bytes, padded to 8.
  const bool short_string = code == 0 && count == 1 && payload.size() < max_string_size;
  if (payload.size() < needed && !short_string) {
    return Error{errc::short_payload, name + " x " + std::to_string(count) + " needs " + std::to_string(needed) +
                                          " bytes, the payload has " + std::to_string(payload.size())};
  }
  Decoded d;
  d.code = code;
  d.layout = *layout;
  d.value.type = layout->value_type;
  if (layout->family != Family::plain) {
    d.value.alarm.status = static_cast<Status>(wire::load16(payload, 0));
    d.value.alarm.severity = static_cast<Severity>(wire::load16(payload, 2));
  }
  if (layout->family == Family::time) {
    d.value.stamp.sec_past_epoch = wire::load32(payload, 4);
    d.value.stamp.nsec = wire::load32(payload, 8);
  }
  if (layout->family == Family::gr || layout->family == Family::ctrl) {
    auto meta = load_metadata(payload, *layout);
    if (auto* e = std::get_if<Error>(&meta)) return std::move(*e);
    d.value.meta = std::move(std::get<Metadata>(meta));
  }
  if (layout->value_type == ValueType::string) {
    std::vector<std::string> texts;
    texts.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = layout->value_offset + i * layout->value_size;
      const std::size_t field = short_string ? payload.size() : max_string_size;
      if (field == 0) return Error{errc::short_payload, name + ": empty payload for a string"};
      auto text = load_text(payload, at, field, name + " " + element_name(i));
      if (auto* e = std::get_if<Error>(&text)) return std::move(*e);
      texts.push_back(std::move(std::get<std::string>(text)));
    }
    d.value.elements = std::move(texts);
  } else {
    std::vector<double> numbers;
    numbers.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      numbers.push_back(load_number(payload, layout->value_offset + i * layout->value_size, layout->value_type));
    }
    d.value.elements = std::move(numbers);
  }
  return d;
}

}  // namespace weft::ca
