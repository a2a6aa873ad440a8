// Parsing of broker URLs; every rejection names the URL, the problem and
// the expected shape.
#include "weft/drivers/mqtt/broker_url.hpp"

#include <charconv>

namespace weft::mqtt {
namespace {

constexpr std::string_view kShape = "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]";

std::string bad(std::string_view text, std::string_view why) {
  return "bad broker URL '" + std::string(text) + "': " + std::string(why) + "; " + std::string(kShape);
}

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

}  // namespace

std::string BrokerUrl::endpoint() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string BrokerUrl::to_string() const { return (tls ? "mqtts://" : "mqtt://") + endpoint(); }

std::variant<BrokerUrl, std::string> parse_broker_url(std::string_view text) {
  BrokerUrl url;
  std::string_view rest = text;
  if (rest.starts_with("mqtt://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("mqtts://")) {
    rest.remove_prefix(8);
    url.tls = true;
    url.port = 8883;
  } else {
    const auto colon = rest.find("://");
    return bad(text, colon == std::string_view::npos
                         ? "no scheme"
                         : "unknown scheme '" + std::string(rest.substr(0, colon)) + "'");
  }
  if (rest.find('@') != std::string_view::npos)
    return bad(text, "credentials do not go in the URL; use the username and password (or password_file) keys");
  if (const auto slash = rest.find_first_of("/?#"); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/") return bad(text, "a path or query is not allowed");
    rest = rest.substr(0, slash);
  }
  std::string_view port_text;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad(text, "unclosed '[' in an IPv6 address");
    url.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad(text, "unexpected text after the IPv6 address");
      port_text = rest.substr(1);
      if (port_text.empty()) return bad(text, "empty port after ':'");
    }
    if (url.host.empty() || url.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return bad(text, "'" + url.host + "' is not an IPv6 address");
  } else {
    const auto colon = rest.find(':');
    url.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return bad(text, "empty port after ':'");
    }
    if (url.host.empty()) return bad(text, "no host");
    for (char c : url.host)
      if (!valid_host_char(c)) return bad(text, "'" + url.host + "' is not a host name or address");
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535)
      return bad(text, "port '" + std::string(port_text) + "' is not a number in 1..65535");
    url.port = static_cast<std::uint16_t>(value);
  }
  return url;
}

}  // namespace weft::mqtt
