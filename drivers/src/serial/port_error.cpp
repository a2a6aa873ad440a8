// Names of PortErrorKind values, for logs and test messages.
#include "weft/drivers/serial/port_error.hpp"

namespace weft::serial {

const char* to_string(PortErrorKind kind) noexcept {
  switch (kind) {
    case PortErrorKind::invalid_settings: return "invalid_settings";
    case PortErrorKind::not_found: return "not_found";
    case PortErrorKind::permission: return "permission";
    case PortErrorKind::in_use: return "in_use";
    case PortErrorKind::lock_dir: return "lock_dir";
    case PortErrorKind::not_a_tty: return "not_a_tty";
    case PortErrorKind::configuration: return "configuration";
    case PortErrorKind::io: return "io";
  }
  return "unknown";
}

}  // namespace weft::serial
