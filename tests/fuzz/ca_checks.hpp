// Shared by the Channel Access fuzz targets (ca_request, ca_response,
// ca_dbr): the checks every decoded DBR payload and every CA byte stream must
// pass, whoever produced them.
// - check_decoded: a decode_dbr verdict is consistent with its inputs (an
//   error of the right kind whose detail names the type or field; a success
//   that holds `count` elements, strings inside their fields), and a decoded
//   payload encodes back to one that decodes to the same value.
// - scan_stream: a byte stream cut into frames the way a circuit reads it
//   (chunks, a scan after each, consumed bytes erased) gives exactly the
//   frames and the error that scanning it whole gives, every NeedMore is
//   never an understatement, and a too_large or misaligned verdict comes from
//   the header alone. Each frame is handed on in a buffer of its own exact
//   size, so a decoder reading past it is an ASan report, not a silent read
//   of the next frame.
// NaN-aware equality (same_value): a NaN element or limit equals a NaN.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "weft/drivers/ca/dbr.hpp"
#include "weft/drivers/ca/framing.hpp"

namespace weft::fuzz::ca_checks {

using namespace weft::ca;
using Bytes = std::vector<std::uint8_t>;

inline bool same_number(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

inline bool same_elements(const Elements& a, const Elements& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<std::vector<std::string>>(&a)) return *x == std::get<std::vector<std::string>>(b);
  const auto& x = std::get<std::vector<double>>(a);
  const auto& y = std::get<std::vector<double>>(b);
  return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), same_number);
}

inline bool same_meta(const Metadata& a, const Metadata& b) {
  return a.units == b.units && a.precision == b.precision && a.enum_strings == b.enum_strings &&
         same_number(a.upper_disp, b.upper_disp) && same_number(a.lower_disp, b.lower_disp) &&
         same_number(a.upper_alarm, b.upper_alarm) && same_number(a.upper_warning, b.upper_warning) &&
         same_number(a.lower_warning, b.lower_warning) && same_number(a.lower_alarm, b.lower_alarm) &&
         same_number(a.upper_ctrl, b.upper_ctrl) && same_number(a.lower_ctrl, b.lower_ctrl);
}

inline bool same_value(const Value& a, const Value& b) {
  return a.type == b.type && same_elements(a.elements, b.elements) && a.alarm == b.alarm && a.stamp == b.stamp &&
         same_meta(a.meta, b.meta);
}

inline bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// A decoded string field: no NUL inside, shorter than its field.
inline void check_text(const std::string& s, std::size_t field, const char* what) {
  FUZZ_CHECK(s.size() < field, "%s of %zu characters in a %zu-byte field", what, s.size(), field);
  FUZZ_CHECK(s.find('\0') == std::string::npos, "%s holds a NUL", what);
}

// `payload` must be the whole buffer it points into (its own allocation), so
// that ASan sees any read past it.
inline void check_decoded(std::uint16_t code, std::uint32_t count, std::span<const std::uint8_t> payload,
                          const Limits& limits, const Result<Decoded>& result) {
  const auto layout = dbr_layout(code);
  const std::string name = dbr_name(code);
  if (const auto* e = std::get_if<Error>(&result)) {
    FUZZ_CHECK(!e->detail.empty() && !e->message().empty(), "a DBR error without a detail");
    switch (e->code) {
      case errc::bad_type:
        FUZZ_CHECK(!layout && contains(e->detail, "DBR type " + std::to_string(code)), "bad_type for %s: %s",
                   name.c_str(), e->detail.c_str());
        return;
      case errc::too_large:
        FUZZ_CHECK(layout && std::uint64_t{count} * layout->value_size > limits.max_array_bytes &&
                       e->detail.starts_with(name) && contains(e->detail, "max_array_bytes"),
                   "too_large for %s x %u: %s", name.c_str(), count, e->detail.c_str());
        return;
      case errc::short_payload:
        FUZZ_CHECK(layout && payload.size() < *dbr_payload_size(code, count) && e->detail.starts_with(name),
                   "short_payload for %s x %u in %zu bytes: %s", name.c_str(), count, payload.size(),
                   e->detail.c_str());
        return;
      case errc::unterminated_string:
        FUZZ_CHECK(layout && contains(e->detail, "has no NUL within its"), "unterminated_string: %s",
                   e->detail.c_str());
        FUZZ_CHECK(contains(e->detail, "units") || contains(e->detail, "enum state string") ||
                       (e->detail.starts_with(name) && contains(e->detail, "element ")),
                   "unterminated_string that names no field: %s", e->detail.c_str());
        return;
      case errc::bad_count:
        FUZZ_CHECK(layout && layout->value_type == ValueType::enumerated && contains(e->detail, "enum state count"),
                   "bad_count: %s", e->detail.c_str());
        return;
      default: FUZZ_CHECK(false, "decode_dbr gave error %d: %s", static_cast<int>(e->code), e->message().c_str());
    }
  }
  FUZZ_CHECK(layout.has_value(), "decoded a code above 38 (%u)", code);
  const Decoded& d = std::get<Decoded>(result);
  FUZZ_CHECK(d.code == code && d.layout.value_offset == layout->value_offset &&
                 d.layout.value_size == layout->value_size && d.layout.value_type == layout->value_type &&
                 d.layout.family == layout->family && d.value.type == layout->value_type,
             "decoded layout of %s differs from dbr_layout", name.c_str());
  FUZZ_CHECK(d.value.size() == count, "%s x %u decoded %zu elements", name.c_str(), count, d.value.size());
  FUZZ_CHECK(std::uint64_t{count} * layout->value_size <= limits.max_array_bytes, "%s x %u accepted above the limit",
             name.c_str(), count);
  const bool short_string = code == 0 && count == 1 && payload.size() < max_string_size;
  FUZZ_CHECK(short_string || payload.size() >= *dbr_payload_size(code, count), "%s x %u decoded from %zu bytes",
             name.c_str(), count, payload.size());
  if (const auto* texts = std::get_if<std::vector<std::string>>(&d.value.elements)) {
    FUZZ_CHECK(layout->value_type == ValueType::string, "text elements for %s", name.c_str());
    for (const auto& t : *texts) check_text(t, short_string ? payload.size() : max_string_size, "a string element");
  } else {
    FUZZ_CHECK(layout->value_type != ValueType::string, "numbers for %s", name.c_str());
  }
  check_text(d.value.meta.units, max_units_size, "units");
  FUZZ_CHECK(d.value.meta.enum_strings.size() <= max_enum_states, "%zu enum states", d.value.meta.enum_strings.size());
  for (const auto& s : d.value.meta.enum_strings) check_text(s, max_enum_string_size, "an enum state string");

  // decode -> encode -> decode is the identity (what a gateway relays is what
  // it received). PUT_ACKT/ACKS are write-only; CLASS_NAME is always "weft".
  if (code == dbr_put_ackt || code == dbr_put_acks) return;
  const auto again = encode_dbr(code, count, d.value, limits);
  const auto* bytes = std::get_if<Bytes>(&again);
  FUZZ_CHECK(bytes != nullptr, "a decoded %s x %u does not encode: %s", name.c_str(), count,
             std::get<Error>(again).message().c_str());
  FUZZ_CHECK(bytes->size() == *dbr_payload_size(code, count), "%s x %u encoded in %zu bytes", name.c_str(), count,
             bytes->size());
  const Bytes exact(*bytes);
  const auto redecoded = decode_dbr(code, count, exact, limits);
  const auto* d2 = std::get_if<Decoded>(&redecoded);
  FUZZ_CHECK(d2 != nullptr, "a re-encoded %s x %u does not decode: %s", name.c_str(), count,
             std::get<Error>(redecoded).message().c_str());
  if (code == dbr_class_name) {
    const auto& texts = std::get<std::vector<std::string>>(d2->value.elements);
    FUZZ_CHECK(count == 0 || texts.front() == "weft", "CLASS_NAME is not weft");
    return;
  }
  FUZZ_CHECK(same_value(d.value, d2->value), "%s x %u: decode -> encode -> decode changed the value", name.c_str(),
             count);
}

// A frame handed on by scan_stream: header and payload in one buffer of
// exactly frame.length bytes (the Frame's spans point into it).
using OnFrame = std::function<bool(const Frame&)>;  // false: the circuit closes here

struct StreamResult {
  std::vector<Bytes> frames;  // each frame's bytes as received
  std::optional<Error> error;
  bool closed_by_decoder = false;
  std::size_t consumed = 0;
};

inline ScanResult scan_exact(std::span<const std::uint8_t> bytes, const Limits& limits, Bytes& copy) {
  copy.assign(bytes.begin(), bytes.end());  // its own allocation: ASan sees reads past it
  return scan_frame(copy, limits);
}

// Checks one verdict against the bytes it was given.
inline void check_scan(std::span<const std::uint8_t> bytes, const Limits& limits, const ScanResult& r) {
  if (const auto* n = std::get_if<NeedMore>(&r)) {
    FUZZ_CHECK(n->bytes >= 1, "NeedMore of 0 bytes");
    // Never an understatement: one byte short of what it asked for is still
    // NeedMore (probed up to 4 KiB, the fuzz input size: a claim of up to
    // max_payload_bytes would make every byte fed cost a large memset).
    if (n->bytes > 1 && n->bytes <= 4096) {
      Bytes longer(bytes.begin(), bytes.end());
      longer.resize(bytes.size() + n->bytes - 1, 0);
      const auto r2 = scan_frame(longer, limits);
      FUZZ_CHECK(std::holds_alternative<NeedMore>(r2) || std::holds_alternative<Error>(r2),
                 "NeedMore{%zu} after %zu bytes, but %zu more bytes already make a frame", n->bytes, bytes.size(),
                 n->bytes - 1);
    }
    return;
  }
  if (const auto* e = std::get_if<Error>(&r)) {
    FUZZ_CHECK(e->code == errc::too_large || e->code == errc::misaligned, "scan_frame error %d",
               static_cast<int>(e->code));
    FUZZ_CHECK(e->detail.starts_with("command ") && contains(e->detail, "payload size "),
               "a framing error that names no field: %s", e->detail.c_str());
    // Judged on the header alone, before any payload byte is waited for.
    const std::size_t head = bytes.size() >= 4 && bytes[2] == 0xFF && bytes[3] == 0xFF ? extended_header_size
                                                                                         : header_size;
    FUZZ_CHECK(bytes.size() >= head, "an error before the header is complete");
    Bytes copy;
    const auto alone = scan_exact(bytes.first(head), limits, copy);
    FUZZ_CHECK(std::holds_alternative<Error>(alone) && std::get<Error>(alone) == *e,
               "the header alone does not give the error %s", e->message().c_str());
    return;
  }
  const Frame& f = std::get<Frame>(r);
  const bool extended = bytes[2] == 0xFF && bytes[3] == 0xFF;
  FUZZ_CHECK(f.extended == extended, "extended flag");
  FUZZ_CHECK(f.header_bytes.size() == (extended ? extended_header_size : header_size), "header of %zu bytes",
             f.header_bytes.size());
  FUZZ_CHECK(f.header_bytes.data() == bytes.data() && f.payload.data() == bytes.data() + f.header_bytes.size(),
             "frame spans do not point at the scanned bytes");
  FUZZ_CHECK(f.length == f.header_bytes.size() + f.payload.size() && f.length <= bytes.size(), "frame length %zu",
             f.length);
  FUZZ_CHECK(f.payload.size() == f.header.payload_size && f.header.payload_size % 8 == 0 &&
                 f.header.payload_size <= limits.max_payload_bytes(),
             "payload size %u", f.header.payload_size);
  auto be16 = [&](std::size_t at) { return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]); };
  auto be32 = [&](std::size_t at) { return std::uint32_t{be16(at)} << 16 | be16(at + 2); };
  FUZZ_CHECK(f.header.command == be16(0) && f.header.data_type == be16(4) && f.header.p1 == be32(8) &&
                 f.header.p2 == be32(12),
             "header fields differ from the bytes");
  FUZZ_CHECK(f.header.payload_size == (extended ? be32(16) : be16(2)) &&
                 f.header.data_count == (extended ? be32(20) : be16(6)),
             "size or count differ from the bytes");
}

// Scans `stream` whole (as a UDP datagram is) and again in chunks (as a TCP
// circuit reads it), calling on_frame for each frame of the chunked pass.
inline StreamResult scan_stream(std::span<const std::uint8_t> stream, const Limits& limits, std::uint8_t chunking,
                                const OnFrame& on_frame) {
  // Whole: the reference.
  StreamResult whole;
  std::vector<bool> keeps;
  {
    std::size_t at = 0;
    for (;;) {
      Bytes copy;
      const auto r = scan_exact(stream.subspan(at), limits, copy);
      check_scan(copy, limits, r);
      if (std::holds_alternative<NeedMore>(r)) break;
      if (const auto* e = std::get_if<Error>(&r)) {
        whole.error = *e;
        break;
      }
      const Frame& f = std::get<Frame>(r);
      whole.frames.emplace_back(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(f.length));
      at += f.length;
    }
    whole.consumed = at;
  }
  // Chunked, with the consumed bytes erased as serve_requests does.
  StreamResult chunked;
  Bytes in;
  std::size_t fed = 0, step = 0;
  bool open = true;
  while (open && fed < stream.size()) {
    const std::size_t chunk = 1 + (((chunking >> (step++ % 8)) & 1u) ? 0u : (chunking & 0x3Fu) * 7u);
    const std::size_t take = std::min(chunk, stream.size() - fed);
    in.insert(in.end(), stream.begin() + static_cast<std::ptrdiff_t>(fed),
              stream.begin() + static_cast<std::ptrdiff_t>(fed + take));
    fed += take;
    std::size_t at = 0;
    for (;;) {
      Bytes copy;
      const auto r = scan_exact(std::span<const std::uint8_t>(in).subspan(at), limits, copy);
      check_scan(copy, limits, r);
      if (std::holds_alternative<NeedMore>(r)) break;
      if (const auto* e = std::get_if<Error>(&r)) {
        chunked.error = *e;
        open = false;
        break;
      }
      const Frame& f = std::get<Frame>(r);
      Bytes frame_bytes(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(f.length));
      chunked.frames.push_back(frame_bytes);
      chunked.consumed += f.length;
      at += f.length;
      // The frame alone, in its own buffer, scans to the same frame.
      const auto alone = scan_frame(frame_bytes, limits);
      const auto* g = std::get_if<Frame>(&alone);
      FUZZ_CHECK(g != nullptr && g->header == f.header && g->length == f.length, "a frame scanned alone differs");
      if (!on_frame(*g)) {
        chunked.closed_by_decoder = true;
        open = false;
        break;
      }
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(std::min(at, in.size())));
  }
  // Chunk boundaries change nothing: the same frames, the same error.
  if (!chunked.closed_by_decoder) {
    FUZZ_CHECK(chunked.frames == whole.frames, "chunked scan found %zu frames, whole scan %zu", chunked.frames.size(),
               whole.frames.size());
    FUZZ_CHECK(chunked.error == whole.error, "chunked and whole scans end differently");
    FUZZ_CHECK(chunked.consumed == whole.consumed, "consumed %zu vs %zu", chunked.consumed, whole.consumed);
  } else {
    FUZZ_CHECK(chunked.frames.size() <= whole.frames.size() &&
                   std::equal(chunked.frames.begin(), chunked.frames.end(), whole.frames.begin()),
               "chunked frames are not a prefix of the whole scan's");
  }
  return chunked;
}

// Limits a config can set (max_array_bytes 16384 .. 64 MiB) plus small ones,
// so that frames above the limit fit in a fuzz input.
inline Limits pick_limits(std::uint8_t b) {
  static constexpr std::uint32_t arrays[] = {16384, 64, 1000, 64u * 1024 * 1024, 0, 40, 16384, 0xFFFF0000u};
  Limits l;
  l.max_array_bytes = arrays[b & 7u];
  l.max_name_length = (b & 8u) ? 16 : 512;
  return l;
}

}  // namespace weft::fuzz::ca_checks
