// Upload messages: the JSON shape a consumer parses (batch id, range,
// device, backlog flag, readings with seq, value, quality, corrected time,
// mono_ns, boot), exact numbers, escaping and invalid UTF-8.
#include "weft/apps/upload/upload_json.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

using weft::apps::append_json_string;
using weft::apps::BatchHeader;
using weft::apps::encode_batch;
using weft::store::StoredReading;

namespace {
StoredReading reading(std::uint64_t seq, std::string point, weft::Value v,
                      weft::Quality q = weft::Quality::good) {
  StoredReading r;
  r.seq = seq;
  r.reading.point = std::move(point);
  r.reading.value = std::move(v);
  r.reading.quality = q;
  r.reading.mono_ns = 3'600'000'000'000 + static_cast<std::int64_t>(seq);
  r.reading.boot = weft::BootId::parse("6f1c2d3e-4a5b-4c6d-8e7f-001122334455");
  r.reading.wall_ns = 5;  // the uncorrected label: not what "t" carries
  r.corrected_wall_ns = 1'767'225'600'000'000'000 + static_cast<std::int64_t>(seq);
  return r;
}
std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}
}  // namespace

TEST_CASE("upload json: a batch message with every field", "[upload][json]") {
  const StoredReading a = reading(41, "plc.h100", std::int64_t{1000});
  const StoredReading b = reading(42, "plc.h101", 100.1, weft::Quality::comm_error);
  const std::string json = encode_batch(BatchHeader{41, 43, "box7", false}, {&a, &b});
  CHECK(json ==
        "{\"batch\":41,\"first_seq\":41,\"last_seq\":43,\"device\":\"box7\",\"backlog\":false,\"readings\":["
        "{\"seq\":41,\"point\":\"plc.h100\",\"value\":1000,\"quality\":\"good\",\"t\":1767225600000000041,"
        "\"mono_ns\":3600000000041,\"boot\":\"6f1c2d3e-4a5b-4c6d-8e7f-001122334455\"},"
        "{\"seq\":42,\"point\":\"plc.h101\",\"value\":100.09999999999999,\"quality\":\"comm-error\","
        "\"t\":1767225600000000042,\"mono_ns\":3600000000042,\"boot\":\"6f1c2d3e-4a5b-4c6d-8e7f-001122334455\"}]}");
}

TEST_CASE("upload json: values of every type, NaN and infinity are null", "[upload][json]") {
  const StoredReading t = reading(1, "p", true);
  const StoredReading s = reading(2, "p", std::string("on \"fire\""));
  const StoredReading n = reading(3, "p", std::numeric_limits<double>::quiet_NaN());
  const StoredReading i = reading(4, "p", -std::numeric_limits<double>::infinity());
  const StoredReading big = reading(5, "p", std::int64_t{-9'007'199'254'740'993});
  const std::string json = encode_batch(BatchHeader{1, 5, "d", true}, {&t, &s, &n, &i, &big});
  CHECK_THAT(json, Catch::Matchers::Contains("\"backlog\":true"));
  CHECK_THAT(json, Catch::Matchers::Contains("\"value\":true"));
  CHECK_THAT(json, Catch::Matchers::Contains("\"value\":\"on \\\"fire\\\"\""));
  CHECK_THAT(json, Catch::Matchers::Contains("\"seq\":3,\"point\":\"p\",\"value\":null"));
  CHECK_THAT(json, Catch::Matchers::Contains("\"seq\":4,\"point\":\"p\",\"value\":null"));
  CHECK_THAT(json, Catch::Matchers::Contains("\"value\":-9007199254740993"));
}

TEST_CASE("upload json: an array soft point's value is a JSON array, non-finite elements null", "[upload][json]") {
  const StoredReading a = reading(1, "sp.curve",
                                  weft::NumberArray(std::vector<double>{1.5, 100.1, -0.25, 3,
                                                                        std::numeric_limits<double>::quiet_NaN(),
                                                                        std::numeric_limits<double>::infinity()}));
  const StoredReading e = reading(2, "sp.none", weft::NumberArray());
  const std::string json = encode_batch(BatchHeader{1, 2, "d", false}, {&a, &e});
  CHECK_THAT(json, Catch::Matchers::Contains("\"point\":\"sp.curve\",\"value\":[1.5,100.1,-0.25,3,null,null],"));
  CHECK_THAT(json, Catch::Matchers::Contains("\"point\":\"sp.none\",\"value\":[],"));
}

TEST_CASE("upload json: an empty batch is still valid JSON", "[upload][json]") {
  CHECK(encode_batch(BatchHeader{7, 7, "d", false}, {}) ==
        "{\"batch\":7,\"first_seq\":7,\"last_seq\":7,\"device\":\"d\",\"backlog\":false,\"readings\":[]}");
}

TEST_CASE("upload json: strings are escaped, invalid UTF-8 becomes U+FFFD", "[upload][json]") {
  CHECK(json_string("a\\b\n\t\x01") == "\"a\\\\b\\n\\t\\u0001\"");
  CHECK(json_string("\xC3\xA9t\xC3\xA9") == "\"\xC3\xA9t\xC3\xA9\"");            // été: valid, kept
  CHECK(json_string("x\xFFy") == "\"x\xEF\xBF\xBDy\"");                          // a stray byte
  CHECK(json_string("\xE2\x82") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");              // truncated sequence
  CHECK(json_string("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");              // overlong
  CHECK(json_string("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}
