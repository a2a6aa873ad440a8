// Encoding of upload messages (upload_json.hpp): hand-written, allocation-
// light, exact (doubles with 17 significant digits round-trip).
#include "weft/apps/upload/upload_json.hpp"

#include "weft/apps/json/json_text.hpp"

#include <cmath>
#include <cstdio>
#include <type_traits>
#include <variant>

namespace weft::apps {
namespace {

void append_value(std::string& out, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(x)) {
            out += "null";
            return;
          }
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.17g", x);
          out += buf;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out += std::to_string(x);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, NumberArray>) {
          out += number_array_json(x.values(), false);  // a JSON array; non-finite elements null, as scalars
        } else {
          append_json_string(out, x);
        }
      },
      v);
}

}  // namespace

std::string encode_batch(const BatchHeader& h, const std::vector<const store::StoredReading*>& readings) {
  std::string out;
  out.reserve(128 + readings.size() * 160);
  out += "{\"batch\":" + std::to_string(h.first_seq) + ",\"first_seq\":" + std::to_string(h.first_seq) +
         ",\"last_seq\":" + std::to_string(h.last_seq) + ",\"device\":";
  append_json_string(out, h.device);
  out += h.backlog ? ",\"backlog\":true" : ",\"backlog\":false";
  out += ",\"readings\":[";
  bool first = true;
  for (const store::StoredReading* r : readings) {
    if (!first) out += ',';
    first = false;
    out += "{\"seq\":" + std::to_string(r->seq) + ",\"point\":";
    append_json_string(out, r->reading.point);
    out += ",\"value\":";
    append_value(out, r->reading.value);
    out += ",\"quality\":\"";
    out += to_string(r->reading.quality);
    out += "\",\"t\":" + std::to_string(r->corrected_wall_ns) + ",\"mono_ns\":" + std::to_string(r->reading.mono_ns) +
           ",\"boot\":\"" + r->reading.boot.to_string() + "\"}";
  }
  out += "]}";
  return out;
}

}  // namespace weft::apps
