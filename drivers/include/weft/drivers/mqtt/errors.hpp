// MQTT failures as values: `errc` (the ways a connection or a publish can
// fail, in the std::error_code category "mqtt") and Error, which adds the
// human detail (the broker's CONNACK reason, the errno text, the URL).
// Nothing here throws.
#pragma once

#include <string>
#include <system_error>

namespace weft::mqtt {

enum class errc {
  bad_url = 1,      // the broker URL cannot be parsed (see broker_url.hpp)
  bad_option,       // libmosquitto rejected an option (client id, TLS files, credentials)
  unreachable,      // DNS lookup, TCP connect or TLS handshake failed
  refused,          // the broker answered CONNACK with a non-zero reason code
  timeout,          // no CONNACK within the connect timeout
  connection_lost,  // an established connection dropped (reset, keepalive, broker gone)
  not_connected,    // publish without a connection
  publish_failed,   // libmosquitto refused the publish (oversize, out of memory)
  subscribe_refused,  // the broker's SUBACK refused a subscription (0x80: its ACL, most often)
  no_library,       // libmosquitto (loaded at the first connect) is missing or too old
};

const std::error_category& category() noexcept;  // name() is "mqtt"
std::error_code make_error_code(errc e) noexcept;

struct Error {
  std::error_code code;
  int reason = 0;       // errc::refused: the CONNACK code; subscribe_refused: the SUBACK code; otherwise MOSQ_ERR_*
  std::string message;  // "broker 127.0.0.1:1883 refused the connection: not authorised (CONNACK 5)"

  explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

// libmosquitto's MOSQ_ERR_* value as text ("Lookup error.", or errno's text for MOSQ_ERR_ERRNO).
std::string describe_mosquitto_error(int rc, int saved_errno);
// The CONNACK reason code as the broker meant it ("not authorised").
std::string describe_connack(int code);

}  // namespace weft::mqtt

template <>
struct std::is_error_code_enum<weft::mqtt::errc> : std::true_type {};
