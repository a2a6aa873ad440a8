// Topic templates: {device} and {point} expand, other placeholders and
// wildcards are rejected when parsed, and values cannot add topic levels.
#include "weft/drivers/mqtt/topic_template.hpp"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using weft::mqtt::TopicTemplate;

namespace {
TopicTemplate parsed(std::string_view text) {
  auto r = TopicTemplate::parse(text);
  INFO(text);
  REQUIRE(std::holds_alternative<TopicTemplate>(r));
  return std::get<TopicTemplate>(r);
}
std::string template_error(std::string_view text) {
  auto r = TopicTemplate::parse(text);
  INFO(text);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}
}  // namespace

TEST_CASE("mqtt topic template expands device and point", "[mqtt][topic]") {
  const auto t = parsed("site/{device}/{point}/v");
  CHECK(t.uses_point());
  CHECK(t.expand("box7", "plc.h100") == "site/box7/plc.h100/v");
  const auto d = parsed("weft/{device}");
  CHECK_FALSE(d.uses_point());
  CHECK(d.expand("box7", "ignored") == "weft/box7");
  CHECK(parsed("plain").expand("a", "b") == "plain");
  CHECK(parsed("{device}{point}").expand("a", "b") == "ab");
}

TEST_CASE("mqtt topic template values cannot add levels or wildcards", "[mqtt][topic]") {
  const auto t = parsed("w/{device}/{point}");
  CHECK(t.expand("a/b", "x+y#z") == "w/a_b/x_y_z");
}

TEST_CASE("mqtt topic template rejections", "[mqtt][topic]") {
  CHECK_THAT(template_error(""), Contains("empty"));
  CHECK_THAT(template_error("a/#"), Contains("wildcards"));
  CHECK_THAT(template_error("a/+/b"), Contains("wildcards"));
  CHECK_THAT(template_error("a/{host}"), Contains("unknown placeholder {host}") && Contains("{device} and {point}"));
  CHECK_THAT(template_error("a/{device"), Contains("'{' without '}'"));
  CHECK_THAT(template_error("a/device}"), Contains("'}' without '{'"));
}
