// PortError: why a serial port could not be locked, opened or configured —
// a kind a supervisor can act on (absent device vs. a port that is there but
// unusable), the errno behind it, and a message for a human that says what
// went wrong, on which port, and what to do. PortResult<T> is "T or PortError".
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace weft::serial {

enum class PortErrorKind {
  invalid_settings,  // SerialSettings::validate() failed
  not_found,         // no such device (unplugged, wrong path)
  permission,        // the device or the lock dir is not accessible to this user
  in_use,            // another process holds the lock file, TIOCEXCL or flock
  lock_dir,          // the lock file could not be created or read
  not_a_tty,         // the path is not a terminal device
  configuration,     // the driver refused or altered a termios setting
  io,                // any other system error
};

struct PortError {
  PortErrorKind kind = PortErrorKind::io;
  int sys_errno = 0;  // 0 when no system call failed
  std::string message;
};

const char* to_string(PortErrorKind kind) noexcept;

template <typename T>
class [[nodiscard]] PortResult {
public:
  PortResult(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  PortResult(PortError error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // Preconditions: ok() for value(), !ok() for error().
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const PortError& error() const { return std::get<1>(state_); }

private:
  std::variant<T, PortError> state_;
};

}  // namespace weft::serial
