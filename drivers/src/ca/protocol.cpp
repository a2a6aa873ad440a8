// Names of the CA protocol's numbers, for logs, traces and ERROR texts.
#include "weft/drivers/ca/protocol.hpp"

namespace weft::ca {

std::string_view to_string(Command command) noexcept {
  switch (command) {
    case Command::version: return "VERSION";
    case Command::event_add: return "EVENT_ADD";
    case Command::event_cancel: return "EVENT_CANCEL";
    case Command::read: return "READ";
    case Command::write: return "WRITE";
    case Command::snapshot: return "SNAPSHOT";
    case Command::search: return "SEARCH";
    case Command::build: return "BUILD";
    case Command::events_off: return "EVENTS_OFF";
    case Command::events_on: return "EVENTS_ON";
    case Command::read_sync: return "READ_SYNC";
    case Command::error: return "ERROR";
    case Command::clear_channel: return "CLEAR_CHANNEL";
    case Command::rsrv_is_up: return "RSRV_IS_UP";
    case Command::not_found: return "NOT_FOUND";
    case Command::read_notify: return "READ_NOTIFY";
    case Command::read_build: return "READ_BUILD";
    case Command::repeater_confirm: return "REPEATER_CONFIRM";
    case Command::create_chan: return "CREATE_CHAN";
    case Command::write_notify: return "WRITE_NOTIFY";
    case Command::client_name: return "CLIENT_NAME";
    case Command::host_name: return "HOST_NAME";
    case Command::access_rights: return "ACCESS_RIGHTS";
    case Command::echo: return "ECHO";
    case Command::repeater_register: return "REPEATER_REGISTER";
    case Command::signal: return "SIGNAL";
    case Command::create_ch_fail: return "CREATE_CH_FAIL";
    case Command::server_disconn: return "SERVER_DISCONN";
  }
  return "unknown";
}

std::string_view to_string(Eca code) noexcept {
  switch (code) {
    case Eca::normal: return "ECA_NORMAL";
    case Eca::allocmem: return "ECA_ALLOCMEM";
    case Eca::tolarge: return "ECA_TOLARGE";
    case Eca::badtype: return "ECA_BADTYPE";
    case Eca::internal: return "ECA_INTERNAL";
    case Eca::getfail: return "ECA_GETFAIL";
    case Eca::putfail: return "ECA_PUTFAIL";
    case Eca::badcount: return "ECA_BADCOUNT";
    case Eca::badstr: return "ECA_BADSTR";
    case Eca::badmonid: return "ECA_BADMONID";
    case Eca::defunct: return "ECA_DEFUNCT";
    case Eca::badmask: return "ECA_BADMASK";
    case Eca::putcbinprog: return "ECA_PUTCBINPROG";
    case Eca::nordaccess: return "ECA_NORDACCESS";
    case Eca::nowtaccess: return "ECA_NOWTACCESS";
    case Eca::noconvert: return "ECA_NOCONVERT";
    case Eca::badchid: return "ECA_BADCHID";
    case Eca::unavailinserv: return "ECA_UNAVAILINSERV";
    case Eca::k16karrayclient: return "ECA_16KARRAYCLIENT";
  }
  return "unknown";
}

std::string_view describe(Eca code) noexcept {
  switch (code) {
    case Eca::normal: return "Normal successful completion";
    case Eca::allocmem: return "Unable to allocate additional dynamic memory";
    case Eca::tolarge: return "The requested data transfer is greater than available memory or EPICS_CA_MAX_ARRAY_BYTES";
    case Eca::badtype: return "The data type specified is invalid";
    case Eca::internal: return "Channel Access Internal Failure";
    case Eca::getfail: return "Could not perform a database value get for that channel";
    case Eca::putfail: return "Could not perform a database value put for that channel";
    case Eca::badcount: return "Invalid element count requested";
    case Eca::badstr: return "Invalid string";
    case Eca::badmonid: return "Bad monitor subscription identifier";
    case Eca::defunct: return "Attempt to use defunct CA feature failed";
    case Eca::badmask: return "The event selection mask supplied is empty or inappropriate";
    case Eca::putcbinprog: return "Put callback operation collision with put callback operation in progress";
    case Eca::nordaccess: return "Read access denied";
    case Eca::nowtaccess: return "Write access denied";
    case Eca::noconvert: return "Data conversion between client's type and the server's type failed";
    case Eca::badchid: return "Invalid channel identifier";
    case Eca::unavailinserv: return "Not supported by attached service";
    case Eca::k16karrayclient: return "Client's protocol revision does not support transfers exceeding 16k bytes";
  }
  return "unknown CA status";
}

std::string_view to_string(Severity severity) noexcept {
  switch (severity) {
    case Severity::no_alarm: return "NO_ALARM";
    case Severity::minor: return "MINOR";
    case Severity::major: return "MAJOR";
    case Severity::invalid: return "INVALID";
  }
  return "unknown";
}

std::string_view to_string(Status status) noexcept {
  switch (status) {
    case Status::no_alarm: return "NO_ALARM";
    case Status::read: return "READ";
    case Status::write: return "WRITE";
    case Status::hihi: return "HIHI";
    case Status::high: return "HIGH";
    case Status::lolo: return "LOLO";
    case Status::low: return "LOW";
    case Status::state: return "STATE";
    case Status::cos: return "COS";
    case Status::comm: return "COMM";
    case Status::timeout: return "TIMEOUT";
    case Status::hwlimit: return "HWLIMIT";
    case Status::calc: return "CALC";
    case Status::scan: return "SCAN";
    case Status::link: return "LINK";
    case Status::soft: return "SOFT";
    case Status::bad_sub: return "BAD_SUB";
    case Status::udf: return "UDF";
    case Status::disable: return "DISABLE";
    case Status::simm: return "SIMM";
    case Status::read_access: return "READ_ACCESS";
    case Status::write_access: return "WRITE_ACCESS";
  }
  return "unknown";
}

}  // namespace weft::ca
