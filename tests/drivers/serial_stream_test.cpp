// SerialStream on real ptys, every io_context run bounded by a deadline:
// settings read back with tcgetattr; bytes cross unchanged in both
// directions; discard_input, cancellation and close end or drop what they
// should; unplugging (killing socat) ends a pending read with an error, not
// a hang, and after a restart the same path opens and carries data again.
#include <sys/ioctl.h>
#include <termios.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include "support/pty_pair.hpp"
#include "support/serial_streams.hpp"
#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/serial_stream.hpp"

using namespace std::chrono_literals;
using boost::system::error_code;
using weft::serial::open_exclusive;
using weft::serial::SerialSettings;
using weft::serial::SerialStream;
using weft::test::kSerialDeadline;
using weft::test::open_serial_stream;
using weft::test::PtyPair;
using weft::test::run_serial_until;

namespace {

// Writes `data` to `from` and reads it all from `to`; returns what arrived.
std::string transfer(boost::asio::io_context& ioc, SerialStream& from, SerialStream& to, const std::string& data) {
  std::optional<error_code> write_result;
  boost::asio::async_write(from, boost::asio::buffer(data), [&](error_code ec, std::size_t) { write_result = ec; });

  std::string received;
  std::array<char, 64> chunk{};
  std::optional<error_code> read_error;
  std::function<void()> read_more = [&] {
    to.async_read_some(boost::asio::buffer(chunk), [&](error_code ec, std::size_t n) {
      received.append(chunk.data(), n);
      if (ec) read_error = ec;
      else if (received.size() < data.size()) read_more();
    });
  };
  read_more();

  bool done = run_serial_until(ioc, [&] { return (received.size() >= data.size() && write_result) || read_error; });
  to.cancel();
  from.cancel();
  run_serial_until(ioc, [] { return false; }, 50ms);  // let cancelled handlers finish before the locals go
  INFO("read error: " << (read_error ? read_error->message() : "none"));
  CHECK(done);
  REQUIRE(write_result);
  CHECK_FALSE(*write_result);
  return received;
}

}  // namespace

TEST_CASE("serial stream: open_exclusive applies 19200 8E1 to a pty", "[serial]") {
  PtyPair pty;
  auto port = open_exclusive(SerialSettings{.path = pty.a(), .baud = 19200, .parity = 'E'}, pty.dir());
  INFO((port.ok() ? std::string() : port.error().message));
  REQUIRE(port.ok());
  termios t{};
  REQUIRE(::tcgetattr(port.value().fd(), &t) == 0);
  CHECK(cfgetispeed(&t) == B19200);
  CHECK(cfgetospeed(&t) == B19200);
  CHECK((t.c_cflag & CSIZE) == CS8);
  CHECK((t.c_cflag & CSTOPB) == 0);
  CHECK((t.c_cflag & (CLOCAL | CREAD)) == (CLOCAL | CREAD));
  CHECK((t.c_lflag & (ICANON | ECHO)) == 0);
  CHECK(t.c_cc[VMIN] == 1);  // with O_NONBLOCK: EAGAIN when empty, never 0 (EOF)
  CHECK(t.c_cc[VTIME] == 0);
  // The Linux pty driver clears PARENB on every tcsetattr (pty_set_termios):
  // a pty carries whole bytes, so parity cannot be read back here.
  // make_termios() setting PARENB for 'E' is checked in serial_settings_test.
  CHECK((t.c_cflag & PARENB) == 0);

  // Reopening with the same settings works (the pty already has them).
  port.value().close();
  auto again = open_exclusive(SerialSettings{.path = pty.a(), .baud = 19200, .parity = 'E'}, pty.dir());
  INFO((again.ok() ? std::string() : again.error().message));
  CHECK(again.ok());
}

TEST_CASE("serial stream: two stop bits and rts_cts are applied and read back", "[serial]") {
  PtyPair pty;
  auto port = open_exclusive(
      SerialSettings{.path = pty.b(), .baud = 115200, .stop_bits = 2, .flow = weft::serial::FlowControl::rts_cts},
      pty.dir());
  INFO((port.ok() ? std::string() : port.error().message));
  REQUIRE(port.ok());
  termios t{};
  REQUIRE(::tcgetattr(port.value().fd(), &t) == 0);
  CHECK(cfgetospeed(&t) == B115200);
  CHECK((t.c_cflag & CSTOPB) != 0);
  CHECK((t.c_cflag & CRTSCTS) != 0);
}

TEST_CASE("serial stream: bytes written on one end are read unchanged on the other", "[serial]") {
  PtyPair pty;
  boost::asio::io_context ioc;
  const SerialSettings a{.path = pty.a(), .baud = 19200, .parity = 'E'};
  const SerialSettings b{.path = pty.b(), .baud = 19200, .parity = 'E'};
  auto sa = open_serial_stream(ioc, a, pty.dir());
  auto sb = open_serial_stream(ioc, b, pty.dir());

  std::string all_bytes;  // raw mode: no CR/LF mapping, no XON/XOFF, no line editing
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  CHECK(transfer(ioc, *sa, *sb, all_bytes) == all_bytes);
  CHECK(transfer(ioc, *sb, *sa, "reply\r\n") == "reply\r\n");
}

TEST_CASE("serial stream: discard_input drops bytes received but not yet read", "[serial]") {
  PtyPair pty;
  boost::asio::io_context ioc;
  auto sa = open_serial_stream(ioc, SerialSettings{.path = pty.a()}, pty.dir());
  auto sb = open_serial_stream(ioc, SerialSettings{.path = pty.b()}, pty.dir());

  CHECK(transfer(ioc, *sa, *sb, "x") == "x");  // the pair is carrying data
  std::optional<error_code> written;
  boost::asio::async_write(*sa, boost::asio::buffer(std::string_view("stale")),
                           [&](error_code ec, std::size_t) { written = ec; });
  REQUIRE(run_serial_until(ioc, [&] { return written.has_value(); }));
  // Wait until the bytes have crossed socat into sb's input queue.
  int queued = 0;
  const auto deadline = std::chrono::steady_clock::now() + kSerialDeadline;
  while (queued < 5 && std::chrono::steady_clock::now() < deadline) {
    ::ioctl(sb->native_handle(), FIONREAD, &queued);
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(queued == 5);
  sb->discard_input();
  ::ioctl(sb->native_handle(), FIONREAD, &queued);
  CHECK(queued == 0);
  CHECK(transfer(ioc, *sa, *sb, "fresh") == "fresh");
}

TEST_CASE("serial stream: a pending read ends on per-operation cancellation and on cancel()", "[serial]") {
  PtyPair pty;
  boost::asio::io_context ioc;
  auto stream = open_serial_stream(ioc, SerialSettings{.path = pty.a()}, pty.dir());
  SerialStream& s = *stream;
  std::array<char, 16> buffer{};

  boost::asio::cancellation_signal signal;
  std::optional<error_code> first;
  s.async_read_some(boost::asio::buffer(buffer),
                    boost::asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, std::size_t) { first = ec; }));
  ioc.poll();
  CHECK_FALSE(first);
  signal.emit(boost::asio::cancellation_type::terminal);
  REQUIRE(run_serial_until(ioc, [&] { return first.has_value(); }));
  CHECK(*first == boost::asio::error::operation_aborted);

  std::optional<error_code> second;
  s.async_read_some(boost::asio::buffer(buffer), [&](error_code ec, std::size_t) { second = ec; });
  ioc.poll();
  s.cancel();
  REQUIRE(run_serial_until(ioc, [&] { return second.has_value(); }));
  CHECK(*second == boost::asio::error::operation_aborted);

  std::optional<error_code> third;
  s.async_read_some(boost::asio::buffer(buffer), [&](error_code ec, std::size_t) { third = ec; });
  ioc.poll();
  s.close();
  REQUIRE(run_serial_until(ioc, [&] { return third.has_value(); }));
  CHECK(*third == boost::asio::error::operation_aborted);
  CHECK_FALSE(s.is_open());
  CHECK_FALSE(std::filesystem::exists(weft::serial::lock_file_path(pty.a(), pty.dir())));
}

TEST_CASE("serial stream: unplugging completes a pending read with an error, replugging opens again", "[serial]") {
  PtyPair pty;
  boost::asio::io_context ioc;
  const SerialSettings settings{.path = pty.a(), .baud = 9600};
  auto s = open_serial_stream(ioc, settings, pty.dir());

  std::array<char, 16> buffer{};
  std::optional<error_code> result;
  s->async_read_some(boost::asio::buffer(buffer), [&](error_code ec, std::size_t) { result = ec; });
  ioc.poll();
  REQUIRE_FALSE(result);

  const auto unplugged = std::chrono::steady_clock::now();
  pty.kill();
  REQUIRE(run_serial_until(ioc, [&] { return result.has_value(); }));
  INFO("read completed with: " << result->message());
  CHECK(*result);  // an error (end of file or EIO), never success
  CHECK(*result != boost::asio::error::operation_aborted);
  CHECK(std::chrono::steady_clock::now() - unplugged < kSerialDeadline);

  s.reset();  // the owner closes the dead port; that removes the lock file
  CHECK_FALSE(std::filesystem::exists(weft::serial::lock_file_path(pty.a(), pty.dir())));

  pty.restart();
  s = open_serial_stream(ioc, settings, pty.dir());
  auto other = open_serial_stream(ioc, SerialSettings{.path = pty.b(), .baud = 9600}, pty.dir());
  CHECK(transfer(ioc, *other, *s, "back again") == "back again");
}
