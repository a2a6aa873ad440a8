// The port lock on a real tty (a socat pty): while one open_exclusive holds
// the port, a second one fails as in_use with a message that names the
// holder's PID and the lock file, and once the first is closed the port
// opens again. (Across processes, with two weftd: weftd_port_lock.sh.)
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "support/pty_pair.hpp"
#include "weft/drivers/serial/open_port.hpp"

using weft::test::PtyPair;

TEST_CASE("port lock: a second open_exclusive of a held pty names the holder's PID", "[integration][serial]") {
  PtyPair pty;
  const weft::serial::SerialSettings settings{.path = pty.a(), .baud = 19200, .parity = 'E'};
  auto first = weft::serial::open_exclusive(settings, pty.dir());
  INFO((first.ok() ? std::string() : first.error().message));
  REQUIRE(first.ok());
  const std::string lock_file = first.value().lock_file();

  auto second = weft::serial::open_exclusive(settings, pty.dir());
  REQUIRE_FALSE(second.ok());
  INFO(second.error().message);
  CHECK(second.error().kind == weft::serial::PortErrorKind::in_use);
  CHECK(second.error().message.find("PID " + std::to_string(::getpid())) != std::string::npos);
  CHECK(second.error().message.find(lock_file) != std::string::npos);

  first.value().close();
  auto third = weft::serial::open_exclusive(settings, pty.dir());
  INFO((third.ok() ? std::string() : third.error().message));
  CHECK(third.ok());
}
