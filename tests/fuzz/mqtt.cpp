// Fuzz target: MQTT broker URLs and topic templates (drivers/src/mqtt:
// broker_url.cpp, topic_template.cpp), both read from the config. Invariants:
// - a refused URL gets a message naming it, what is wrong and the expected
//   shape; an accepted one prints (to_string) as a URL that parses back to
//   the same BrokerUrl, with a host of allowed characters and a port > 0;
// - a refused template gets a message naming it; an accepted one expands
//   any device and point into a topic with no wildcard, no NUL, and exactly
//   the template's levels (a value never adds a '/').
#include <algorithm>
#include <string>

#include "fuzz_support.hpp"
#include "weft/drivers/mqtt/broker_url.hpp"
#include "weft/drivers/mqtt/topic_template.hpp"

namespace {

using namespace weft::mqtt;
using weft::fuzz::FuzzBytes;

void check_url(std::string_view text) {
  const auto parsed = parse_broker_url(text);
  if (const auto* why = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(why->starts_with("bad broker URL '") && why->find("expected mqtt://") != std::string::npos,
               "unhelpful URL refusal: %s", why->c_str());
    return;
  }
  const BrokerUrl& url = std::get<BrokerUrl>(parsed);
  FUZZ_CHECK(!url.host.empty() && url.port != 0, "an accepted URL without host or port");
  const std::string printed = url.to_string();
  const auto again = parse_broker_url(printed);
  FUZZ_CHECK(std::holds_alternative<BrokerUrl>(again) && std::get<BrokerUrl>(again) == url,
             "'%s' printed as '%s', which does not parse back", std::string(text).c_str(), printed.c_str());
}

void check_topic(std::string_view text, std::string_view device, std::string_view point) {
  const auto parsed = TopicTemplate::parse(text);
  if (const auto* why = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(why->starts_with("bad topic template '") && why->find("placeholders are") != std::string::npos,
               "unhelpful template refusal: %s", why->c_str());
    return;
  }
  const TopicTemplate& t = std::get<TopicTemplate>(parsed);
  FUZZ_CHECK(t.text() == text, "the template's text changed");
  const std::string topic = t.expand(device, point);
  FUZZ_CHECK(topic.find_first_of(std::string_view("+#\0", 3)) == std::string::npos, "a wildcard or NUL in '%s'",
             topic.c_str());
  FUZZ_CHECK(std::count(topic.begin(), topic.end(), '/') == std::count(text.begin(), text.end(), '/'),
             "a value added a topic level: '%s'", topic.c_str());
  FUZZ_CHECK(t.uses_point() == (text.find("{point}") != std::string_view::npos), "uses_point()");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  FuzzBytes in(data + 1, size - 1);
  if (data[0] & 1u) {
    check_url(in.rest_text());
  } else {
    const std::string device(in.text(64));
    const std::string point(in.text(64));
    check_topic(in.rest_text(), device, point);
  }
  return 0;
}
