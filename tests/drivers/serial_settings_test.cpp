// SerialSettings::validate() names the bad field and the allowed values, and
// make_termios() turns valid settings into the termios bits a UART needs
// (checked bit by bit here, since a pty cannot carry parity or data bits).
#include <termios.h>

#include <catch2/catch.hpp>

#include "weft/drivers/serial/settings.hpp"
#include "weft/drivers/serial/termios_config.hpp"
#include "support/files.hpp"

using weft::serial::FlowControl;
using weft::serial::SerialSettings;

namespace {

SerialSettings valid() { return SerialSettings{.path = "/dev/ttyUSB0"}; }

}  // namespace

TEST_CASE("serial settings: defaults and every standard baud rate are valid", "[serial]") {
  CHECK_FALSE(valid().validate());
  for (unsigned baud : weft::serial::standard_baud_rates()) {
    auto s = valid();
    s.baud = baud;
    CHECK_FALSE(s.validate());
    CHECK(weft::serial::speed_constant(baud));
  }
  auto s = valid();
  s.baud = 19200;
  s.parity = 'E';
  CHECK(s.describe() == "19200 8E1, flow none");
}

TEST_CASE("serial settings: validate names the port, the bad field and the allowed values", "[serial]") {
  auto s = valid();
  s.baud = 14400;
  auto error = s.validate();
  REQUIRE(error);
  CHECK(weft::test::contains(*error, "/dev/ttyUSB0"));
  CHECK(weft::test::contains(*error, "baud 14400"));
  CHECK(weft::test::contains(*error, "1200, 2400"));
  CHECK(weft::test::contains(*error, "921600"));

  s = valid();
  s.data_bits = 9;
  REQUIRE(s.validate());
  CHECK(weft::test::contains(*s.validate(), "data_bits 9"));
  CHECK(weft::test::contains(*s.validate(), "5, 6, 7 or 8"));

  s = valid();
  s.parity = 'e';
  REQUIRE(s.validate());
  CHECK(weft::test::contains(*s.validate(), "parity 'e'"));
  CHECK(weft::test::contains(*s.validate(), "'N' (none), 'E' (even) or 'O' (odd)"));

  s = valid();
  s.stop_bits = 0;
  REQUIRE(s.validate());
  CHECK(weft::test::contains(*s.validate(), "stop_bits 0"));
  CHECK(weft::test::contains(*s.validate(), "1 or 2"));

  s = valid();
  s.flow = static_cast<FlowControl>(7);
  REQUIRE(s.validate());
  CHECK(weft::test::contains(*s.validate(), "none, rts_cts or xon_xoff"));

  s = valid();
  s.path.clear();
  REQUIRE(s.validate());
  CHECK(weft::test::contains(*s.validate(), "path is empty"));
}

TEST_CASE("serial settings: make_termios sets raw mode, baud, framing and flow control", "[serial]") {
  termios base{};
  base.c_lflag = ICANON | ECHO | ISIG;
  base.c_iflag = ICRNL | IXON;
  base.c_oflag = OPOST;

  auto s = valid();
  s.baud = 19200;
  s.parity = 'E';
  termios t = weft::serial::make_termios(base, s);
  CHECK(cfgetispeed(&t) == B19200);
  CHECK(cfgetospeed(&t) == B19200);
  CHECK((t.c_cflag & CSIZE) == CS8);
  CHECK((t.c_cflag & PARENB) != 0);
  CHECK((t.c_cflag & PARODD) == 0);
  CHECK((t.c_cflag & CSTOPB) == 0);
  CHECK((t.c_cflag & CRTSCTS) == 0);
  CHECK((t.c_cflag & (CLOCAL | CREAD)) == (CLOCAL | CREAD));
  CHECK((t.c_lflag & (ICANON | ECHO | ISIG)) == 0);
  CHECK((t.c_iflag & (ICRNL | IXON | IXOFF)) == 0);
  CHECK((t.c_oflag & OPOST) == 0);
  CHECK(t.c_cc[VMIN] == 1);  // with O_NONBLOCK: EAGAIN when empty, never 0 (EOF)
  CHECK(t.c_cc[VTIME] == 0);

  s.baud = 921600;
  s.data_bits = 7;
  s.parity = 'O';
  s.stop_bits = 2;
  s.flow = FlowControl::rts_cts;
  t = weft::serial::make_termios(base, s);
  CHECK(cfgetospeed(&t) == B921600);
  CHECK((t.c_cflag & CSIZE) == CS7);
  CHECK((t.c_cflag & (PARENB | PARODD)) == (PARENB | PARODD));
  CHECK((t.c_cflag & CSTOPB) != 0);
  CHECK((t.c_cflag & CRTSCTS) != 0);
  CHECK((t.c_iflag & (IXON | IXOFF)) == 0);

  s.data_bits = 5;
  s.parity = 'N';
  s.flow = FlowControl::xon_xoff;
  t = weft::serial::make_termios(base, s);
  CHECK((t.c_cflag & CSIZE) == CS5);
  CHECK((t.c_cflag & PARENB) == 0);
  CHECK((t.c_cflag & CRTSCTS) == 0);
  CHECK((t.c_iflag & (IXON | IXOFF)) == (IXON | IXOFF));
}
