// The broker's address as a user writes it: mqtt://HOST[:PORT] (TCP,
// default port 1883) or mqtts://HOST[:PORT] (TLS, default 8883); HOST is a
// name, an IPv4 address or a bracketed IPv6 address ([::1]). Credentials,
// paths and queries are rejected with a message saying where they go.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace weft::mqtt {

struct BrokerUrl {
  std::string host;  // without brackets
  std::uint16_t port = 1883;
  bool tls = false;

  std::string to_string() const;  // "mqtts://[::1]:8883"
  std::string endpoint() const;   // "[::1]:8883", for messages
  friend bool operator==(const BrokerUrl&, const BrokerUrl&) = default;
};

// A BrokerUrl, or a message that says what is wrong with `text` and what a
// correct URL looks like.
std::variant<BrokerUrl, std::string> parse_broker_url(std::string_view text);

}  // namespace weft::mqtt
