// The "mqtt" error category and the texts of libmosquitto's error and
// CONNACK codes (from the library, so they match its documentation).
#include "weft/drivers/mqtt/errors.hpp"

#include <cstring>

#include <mosquitto.h>

#include "mosquitto_library.hpp"

namespace weft::mqtt {
namespace {

class Category final : public std::error_category {
public:
  const char* name() const noexcept override { return "mqtt"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::bad_url: return "bad broker URL";
      case errc::bad_option: return "bad MQTT client option";
      case errc::unreachable: return "broker unreachable";
      case errc::refused: return "broker refused the connection";
      case errc::timeout: return "no answer (CONNACK) from the broker in time";
      case errc::connection_lost: return "connection to the broker lost";
      case errc::not_connected: return "not connected to the broker";
      case errc::publish_failed: return "publish failed";
      case errc::subscribe_refused: return "subscription refused";
      case errc::no_library: return "libmosquitto cannot be loaded";
    }
    return "unknown mqtt error";
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// Both texts come from the library once a connect has loaded it (every
// libmosquitto code stems from a call into it); before that, the number.
std::string describe_mosquitto_error(int rc, int saved_errno) {
  if (rc == MOSQ_ERR_ERRNO && saved_errno != 0) return std::strerror(saved_errno);
  const MosquittoLibrary* lib = mosquitto_library_if_loaded();
  if (lib == nullptr) return "libmosquitto error " + std::to_string(rc);
  std::string text = lib->strerror(rc);
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

std::string describe_connack(int code) {
  const MosquittoLibrary* lib = mosquitto_library_if_loaded();
  if (lib == nullptr) return "CONNACK code " + std::to_string(code);
  std::string text = lib->connack_string(code);
  const std::string prefix = "Connection Refused: ";
  if (text.starts_with(prefix)) text.erase(0, prefix.size());
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

}  // namespace weft::mqtt
