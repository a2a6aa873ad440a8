// Builds, applies and verifies the termios of a serial port. Verification
// reads the termios back after tcsetattr, because tcsetattr succeeds when
// any part of the request was applied: a USB adapter without RTS/CTS or a
// rate it cannot make shows up only there.
#include "weft/drivers/serial/termios_config.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <array>
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "weft/drivers/serial/os_seam.hpp"

namespace weft::serial {
namespace {

constexpr std::array<std::pair<unsigned, speed_t>, 11> kSpeeds{{{1200, B1200},
                                                                 {2400, B2400},
                                                                 {4800, B4800},
                                                                 {9600, B9600},
                                                                 {19200, B19200},
                                                                 {38400, B38400},
                                                                 {57600, B57600},
                                                                 {115200, B115200},
                                                                 {230400, B230400},
                                                                 {460800, B460800},
                                                                 {921600, B921600}}};

// Unix98 pty slaves use majors 136..143; BSD-style pty slaves use major 3.
constexpr unsigned kPtySlaveMajorFirst = 136;
constexpr unsigned kPtySlaveMajorLast = 143;
constexpr unsigned kBsdPtySlaveMajor = 3;

std::string baud_of(speed_t speed) {
  for (auto [baud, constant] : kSpeeds)
    if (constant == speed) return std::to_string(baud);
  return "speed code " + std::to_string(speed);
}

unsigned data_bits_of(tcflag_t cflag) {
  switch (cflag & CSIZE) {
    case CS5: return 5;
    case CS6: return 6;
    case CS7: return 7;
    default: return 8;
  }
}

char parity_of(tcflag_t cflag) { return (cflag & PARENB) == 0 ? 'N' : (cflag & PARODD) != 0 ? 'O' : 'E'; }

FlowControl flow_of(const termios& t) {
  if ((t.c_cflag & CRTSCTS) != 0) return FlowControl::rts_cts;
  if ((t.c_iflag & (IXON | IXOFF)) != 0) return FlowControl::xon_xoff;
  return FlowControl::none;
}

std::string field_list(const SerialSettings& s) {
  return "baud " + std::to_string(s.baud) + ", data_bits " + std::to_string(s.data_bits) + ", parity " +
         std::string(1, s.parity) + ", stop_bits " + std::to_string(s.stop_bits) + ", flow " + to_string(s.flow);
}

PortError not_kept(const SerialSettings& s, const std::string& field, const std::string& wanted,
                   const std::string& actual) {
  return PortError{PortErrorKind::configuration, 0,
                   "port " + s.path + ": the driver did not keep " + field + " " + wanted + " (it reports " + actual +
                       "); the device does not support it — choose another " + field};
}

}  // namespace

std::optional<speed_t> speed_constant(unsigned baud) noexcept {
  for (auto [rate, constant] : kSpeeds)
    if (rate == baud) return constant;
  return std::nullopt;
}

termios make_termios(const termios& base, const SerialSettings& settings) {
  termios t = base;
  ::cfmakeraw(&t);
  const speed_t speed = speed_constant(settings.baud).value_or(B9600);
  ::cfsetispeed(&t, speed);
  ::cfsetospeed(&t, speed);

  t.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
  switch (settings.data_bits) {
    case 5: t.c_cflag |= CS5; break;
    case 6: t.c_cflag |= CS6; break;
    case 7: t.c_cflag |= CS7; break;
    default: t.c_cflag |= CS8; break;
  }
  if (settings.parity == 'E') t.c_cflag |= PARENB;
  if (settings.parity == 'O') t.c_cflag |= PARENB | PARODD;
  if (settings.stop_bits == 2) t.c_cflag |= CSTOPB;
  t.c_cflag |= CLOCAL | CREAD;

  t.c_iflag &= ~(IXON | IXOFF | IXANY);
  if (settings.flow == FlowControl::rts_cts) t.c_cflag |= CRTSCTS;
  if (settings.flow == FlowControl::xon_xoff) t.c_iflag |= IXON | IXOFF;

  t.c_cc[VMIN] = 1;  // see the header: 0 would read as end of file
  t.c_cc[VTIME] = 0;
  return t;
}

bool is_pseudo_terminal(int fd) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) return false;
  const unsigned dev_major = ::major(st.st_rdev);
  return (dev_major >= kPtySlaveMajorFirst && dev_major <= kPtySlaveMajorLast) || dev_major == kBsdPtySlaveMajor;
}

std::optional<PortError> configure_port(int fd, const SerialSettings& settings) {
  const OsCalls& sys = os();
  termios current{};
  if (sys.tcgetattr(fd, &current) != 0) {
    int e = errno;
    if (e == ENOTTY || e == EINVAL)
      return PortError{PortErrorKind::not_a_tty, e,
                       "port " + settings.path + " is not a serial device (tcgetattr: " +
                           std::system_category().message(e) + "); check the path in the config"};
    return PortError{PortErrorKind::io, e,
                     "port " + settings.path + ": cannot read its settings (tcgetattr: " +
                         std::system_category().message(e) + "); check that the device is still connected"};
  }

  SerialSettings effective = settings;
  if (is_pseudo_terminal(fd)) {
    effective.data_bits = 8;
    effective.parity = 'N';
  }
  const termios wanted = make_termios(current, effective);
  if (sys.tcsetattr(fd, TCSANOW, &wanted) != 0) {
    int e = errno;
    return PortError{PortErrorKind::configuration, e,
                     "port " + settings.path + ": cannot apply " + field_list(settings) + " (tcsetattr: " +
                         std::system_category().message(e) + "); check that the device supports these settings"};
  }

  termios actual{};
  if (sys.tcgetattr(fd, &actual) != 0) {
    int e = errno;
    return PortError{PortErrorKind::io, e,
                     "port " + settings.path + ": cannot read back its settings (tcgetattr: " +
                         std::system_category().message(e) + "); check that the device is still connected"};
  }
  if (::cfgetospeed(&actual) != ::cfgetospeed(&wanted) || ::cfgetispeed(&actual) != ::cfgetispeed(&wanted))
    return not_kept(settings, "baud", std::to_string(effective.baud), baud_of(::cfgetospeed(&actual)));
  if (data_bits_of(actual.c_cflag) != effective.data_bits)
    return not_kept(settings, "data_bits", std::to_string(effective.data_bits),
                    std::to_string(data_bits_of(actual.c_cflag)));
  if (parity_of(actual.c_cflag) != effective.parity)
    return not_kept(settings, "parity", std::string(1, effective.parity), std::string(1, parity_of(actual.c_cflag)));
  if (((actual.c_cflag & CSTOPB) != 0) != (effective.stop_bits == 2))
    return not_kept(settings, "stop_bits", std::to_string(effective.stop_bits),
                    (actual.c_cflag & CSTOPB) != 0 ? "2" : "1");
  if (flow_of(actual) != effective.flow)
    return not_kept(settings, "flow", to_string(effective.flow), to_string(flow_of(actual)));
  return std::nullopt;
}

}  // namespace weft::serial
