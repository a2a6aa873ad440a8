// Termios for a serial port: raw bytes, baud, framing, flow control,
// CLOCAL|CREAD and VMIN=1/VTIME=0 (with O_NONBLOCK: a read returns what has
// arrived or EAGAIN; VMIN=0 would return 0 on an empty queue, which Asio
// reports as end of file). configure_port() applies and reads them back, so
// a driver that quietly drops a setting is reported by port and setting.
#pragma once

#include <termios.h>

#include <optional>

#include "weft/drivers/serial/port_error.hpp"
#include "weft/drivers/serial/settings.hpp"

namespace weft::serial {

// The termios speed constant for a standard baud rate (B9600, ...), or
// nullopt for a rate validate() rejects.
std::optional<speed_t> speed_constant(unsigned baud) noexcept;

// `base` (from tcgetattr) changed to what `settings` ask for. Pure; settings
// must be valid.
termios make_termios(const termios& base, const SerialSettings& settings);

// True for a pseudo-terminal slave (/dev/pts/N). The Linux pty driver
// always carries 8-bit bytes without parity, whatever c_cflag says.
bool is_pseudo_terminal(int fd) noexcept;

// Reads the current termios of `fd`, applies make_termios() and verifies the
// result. On a pty, data bits and parity are requested as 8N: the pty driver
// forces them, and asking for anything else would make tcsetattr fail with
// EINVAL when nothing else changes. Errors name settings.path and the setting.
std::optional<PortError> configure_port(int fd, const SerialSettings& settings);

}  // namespace weft::serial
