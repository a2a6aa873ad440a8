// SerialStream's reads on real ptys, through the OS seam: read() is called
// only when the tty holds input (Linux's n_tty_read, finding none, sleeps on
// the tty's flip-buffer work before it says EAGAIN: the loop thread asleep),
// input left by a short read is read without new input arriving (the
// reactor is edge-triggered), and a storm of EINTR or EAGAIN neither loses
// bytes nor holds the loop. Every io_context run is bounded.
#include <sys/ioctl.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include "support/pty_pair.hpp"
#include "support/serial_streams.hpp"
#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/os_seam.hpp"
#include "weft/drivers/serial/serial_stream.hpp"

using namespace std::chrono_literals;

// A named namespace, not an anonymous one: the tests are built as unity
// chunks, and serial_stream_test.cpp has helpers of the same names.
namespace serial_read_test {

using boost::system::error_code;
using weft::serial::OsCalls;
using weft::serial::real_os_calls;
using weft::serial::ScopedOsOverride;
using weft::serial::SerialSettings;
using weft::serial::SerialStream;
using weft::test::kSerialDeadline;
using weft::test::open_serial_stream;
using weft::test::run_serial_until;

// What the recording read saw (function pointers cannot capture).
int g_reads = 0;            // read() calls
int g_empty_reads = 0;      // of them, found no input (EAGAIN)
int g_interrupts_left = 0;  // fail this many reads with EINTR first

OsCalls recording_reads() {
  OsCalls calls = real_os_calls();
  calls.read = [](int fd, void* buffer, size_t size) -> ssize_t {
    ++g_reads;
    if (g_interrupts_left > 0) {
      --g_interrupts_left;
      errno = EINTR;
      return -1;
    }
    const ssize_t n = real_os_calls().read(fd, buffer, size);
    if (n < 0 && errno == EAGAIN) ++g_empty_reads;
    return n;
  };
  return calls;
}

void write_all(boost::asio::io_context& ioc, SerialStream& to, const std::string& data) {
  std::optional<error_code> written;
  boost::asio::async_write(to, boost::asio::buffer(data), [&](error_code ec, std::size_t) { written = ec; });
  REQUIRE(run_serial_until(ioc, [&] { return written.has_value(); }));
  REQUIRE_FALSE(*written);
}

// Waits (off the loop: a test) until `s` holds `want` bytes of input.
void wait_held(SerialStream& s, int want) {
  int held = 0;
  const auto deadline = std::chrono::steady_clock::now() + kSerialDeadline;
  while (held < want && std::chrono::steady_clock::now() < deadline) {
    ::ioctl(s.native_handle(), FIONREAD, &held);
    std::this_thread::sleep_for(2ms);
  }
  REQUIRE(held == want);
}

struct ReadResult {
  std::optional<error_code> ec;
  std::size_t n = 0;
};

void start_read(SerialStream& s, std::array<char, 64>& buffer, std::size_t size, ReadResult& out) {
  s.async_read_some(boost::asio::buffer(buffer.data(), size), [&out](error_code ec, std::size_t n) {
    out.ec = ec;
    out.n = n;
  });
}

// Waits (bounded) for a read started by start_read; it must succeed.
void finish_read(boost::asio::io_context& ioc, const ReadResult& r) {
  REQUIRE(run_serial_until(ioc, [&] { return r.ec.has_value(); }));
  REQUIRE_FALSE(*r.ec);
}

// Two streams over one pty pair (a writes, b reads); the counters reset.
struct StreamPair {
  weft::test::PtyPair pty;
  boost::asio::io_context ioc;
  std::unique_ptr<SerialStream> sa = open_serial_stream(ioc, SerialSettings{.path = pty.a()}, pty.dir());
  std::unique_ptr<SerialStream> sb = open_serial_stream(ioc, SerialSettings{.path = pty.b()}, pty.dir());
  StreamPair() { g_reads = g_empty_reads = g_interrupts_left = 0; }
};

TEST_CASE("serial stream: a read waits for input and never read()s an empty tty", "[serial]") {
  StreamPair p;
  auto& [pty, ioc, sa, sb] = p;
  ScopedOsOverride recording(recording_reads());

  std::array<char, 64> buffer{};
  std::string received;
  for (int i = 0; i < 20; ++i) {
    ReadResult r;
    start_read(*sb, buffer, buffer.size(), r);  // pending before the bytes are sent: the racy case
    ioc.poll();
    CHECK_FALSE(r.ec.has_value());
    const std::string chunk = "frame " + std::to_string(i) + ";";
    write_all(ioc, *sa, chunk);
    finish_read(ioc, r);
    received.append(buffer.data(), r.n);
    while (received.find(chunk) == std::string::npos) {  // socat may pass a chunk on in parts
      ReadResult more;
      start_read(*sb, buffer, buffer.size(), more);
      finish_read(ioc, more);
      received.append(buffer.data(), more.n);
    }
  }
  std::string expected;
  for (int i = 0; i < 20; ++i) expected += "frame " + std::to_string(i) + ";";
  CHECK(received == expected);
  CHECK(g_reads >= 20);        // the reads go through the seam (so through this check)
  CHECK(g_empty_reads == 0);   // and none of them found the tty empty
}

TEST_CASE("serial stream: input left by a short read is read with no new input arriving", "[serial]") {
  StreamPair p;
  auto& [pty, ioc, sa, sb] = p;
  ScopedOsOverride recording(recording_reads());

  write_all(ioc, *sa, std::string(30, 'x'));
  wait_held(*sb, 30);  // one edge for all 30 bytes, before any read is pending
  std::array<char, 64> buffer{};
  std::size_t total = 0;
  for (int i = 0; i < 3; ++i) {  // 10 bytes at a time: the 2nd and 3rd see no new edge
    ReadResult r;
    start_read(*sb, buffer, 10, r);
    finish_read(ioc, r);
    CHECK(r.n == 10);
    total += r.n;
  }
  CHECK(total == 30);
  CHECK(g_empty_reads == 0);
}

TEST_CASE("serial stream: a storm of EINTR loses no byte and lets the loop run between retries", "[serial]") {
  StreamPair p;
  auto& [pty, ioc, sa, sb] = p;
  write_all(ioc, *sa, "payload");
  wait_held(*sb, 7);
  g_interrupts_left = 1000;
  ScopedOsOverride recording(recording_reads());

  // Another handler on the loop counts its turns while the read retries.
  int other_turns = 0;
  bool stop_other = false;
  std::function<void()> other = [&] {
    ++other_turns;
    if (!stop_other) boost::asio::post(ioc, other);
  };
  boost::asio::post(ioc, other);
  std::array<char, 64> buffer{};
  ReadResult r;
  start_read(*sb, buffer, buffer.size(), r);
  REQUIRE(run_serial_until(ioc, [&] { return r.ec.has_value(); }));
  stop_other = true;
  ioc.poll();
  REQUIRE_FALSE(*r.ec);
  CHECK(std::string(buffer.data(), r.n) == "payload");
  CHECK(g_interrupts_left == 0);
  CHECK(g_reads == 1001);
  CHECK(other_turns >= 1000);  // one turn of the loop per retry, not 1,000 retries in one
}

}  // namespace serial_read_test
