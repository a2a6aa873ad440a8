// Broker URLs: the accepted shapes, default ports, and a message for every
// rejected shape that names the URL and says what a correct one looks like.
#include "weft/drivers/mqtt/broker_url.hpp"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using weft::mqtt::BrokerUrl;
using weft::mqtt::parse_broker_url;

namespace {
BrokerUrl ok(std::string_view text) {
  auto r = parse_broker_url(text);
  INFO(text);
  REQUIRE(std::holds_alternative<BrokerUrl>(r));
  return std::get<BrokerUrl>(r);
}
std::string url_error(std::string_view text) {
  auto r = parse_broker_url(text);
  INFO(text);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}
}  // namespace

TEST_CASE("mqtt broker url: schemes and default ports", "[mqtt][url]") {
  CHECK(ok("mqtt://broker.example") == BrokerUrl{"broker.example", 1883, false});
  CHECK(ok("mqtts://broker.example") == BrokerUrl{"broker.example", 8883, true});
  CHECK(ok("mqtt://127.0.0.1:18830") == BrokerUrl{"127.0.0.1", 18830, false});
  CHECK(ok("mqtts://10.0.0.1:443/") == BrokerUrl{"10.0.0.1", 443, true});
  CHECK(ok("mqtt://[::1]:1884") == BrokerUrl{"::1", 1884, false});
  CHECK(ok("mqtt://[fe80::1]") == BrokerUrl{"fe80::1", 1883, false});
}

TEST_CASE("mqtt broker url: round trip through to_string", "[mqtt][url]") {
  CHECK(ok("mqtt://[::1]:1884").to_string() == "mqtt://[::1]:1884");
  CHECK(ok("mqtts://host").to_string() == "mqtts://host:8883");
  CHECK(ok("mqtt://host:1").endpoint() == "host:1");
}

TEST_CASE("mqtt broker url: rejections say what is wrong and the expected shape", "[mqtt][url]") {
  CHECK_THAT(url_error("tcp://host:1883"), Contains("unknown scheme 'tcp'") && Contains("mqtt://HOST[:PORT]"));
  CHECK_THAT(url_error("host:1883"), Contains("no scheme") && Contains("'host:1883'"));
  CHECK_THAT(url_error("mqtt://"), Contains("no host"));
  CHECK_THAT(url_error("mqtt://host:"), Contains("empty port"));
  CHECK_THAT(url_error("mqtt://host:0"), Contains("1..65535"));
  CHECK_THAT(url_error("mqtt://host:65536"), Contains("1..65535"));
  CHECK_THAT(url_error("mqtt://host:12ab"), Contains("'12ab'"));
  CHECK_THAT(url_error("mqtt://user:pw@host"), Contains("username and password"));
  CHECK_THAT(url_error("mqtt://host/topic"), Contains("path or query"));
  CHECK_THAT(url_error("mqtt://[::1"), Contains("unclosed"));
  CHECK_THAT(url_error("mqtt://[::1]x"), Contains("after the IPv6"));
  CHECK_THAT(url_error("mqtt://ho st"), Contains("not a host name"));
}
