// ReconnectPolicy: the backoff doubles from min to max and resets on a
// successful open; a transition is reported once, retries in the same
// condition are silent, and a device error after opening never retries at
// zero delay.
#include <vector>

#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>

#include "weft/drivers/serial/reconnect_policy.hpp"

using namespace std::chrono_literals;
using weft::Duration;
using weft::serial::PortError;
using weft::serial::PortErrorKind;
using weft::serial::PortState;
using weft::serial::ReconnectOptions;
using weft::serial::ReconnectPolicy;

namespace {

PortError error(PortErrorKind kind) { return PortError{kind, 0, std::string("port /dev/ttyUSB0: ") + to_string(kind)}; }

}  // namespace

TEST_CASE("serial reconnect policy: backoff doubles up to max and resets once the port works", "[serial]") {
  ReconnectPolicy policy(ReconnectOptions{.min_delay = 100ms, .max_delay = 1s});
  CHECK(policy.state() == PortState::closed);
  CHECK(policy.next_delay() == Duration::zero());  // the first attempt is immediate

  std::vector<Duration> delays;
  for (int i = 0; i < 7; ++i) {
    (void)policy.on_open_failed(error(PortErrorKind::not_found));
    delays.push_back(policy.next_delay());
  }
  CHECK(delays == std::vector<Duration>{100ms, 200ms, 400ms, 800ms, 1s, 1s, 1s});
  CHECK(policy.consecutive_failures() == 7);

  // An open alone does not reset it (a dying adapter opens, then fails every read)...
  (void)policy.on_open_ok();
  CHECK(policy.consecutive_failures() == 7);
  (void)policy.on_io_error(make_error_code(boost::system::errc::io_error));
  CHECK(policy.next_delay() == 1s);
  // ... a good exchange on the open port does.
  (void)policy.on_open_ok();
  policy.on_io_ok();
  CHECK(policy.consecutive_failures() == 0);
  CHECK(policy.next_delay() == Duration::zero());
  (void)policy.on_open_failed(error(PortErrorKind::in_use));
  CHECK(policy.next_delay() == 100ms);

  // Many failures do not overflow the doubling.
  for (int i = 0; i < 200; ++i) (void)policy.on_open_failed(error(PortErrorKind::in_use));
  CHECK(policy.next_delay() == 1s);
}

TEST_CASE("serial reconnect policy: a state change is reported once, retries are silent", "[serial]") {
  ReconnectPolicy policy(ReconnectOptions{.min_delay = 10ms, .max_delay = 80ms});

  auto t = policy.on_open_failed(error(PortErrorKind::not_found));
  REQUIRE(t);
  CHECK(policy.state_changed());
  CHECK(t->from == PortState::closed);
  CHECK(t->to == PortState::absent);
  CHECK(t->describe() == "closed -> absent: port /dev/ttyUSB0: not_found");

  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(policy.on_open_failed(error(PortErrorKind::not_found)));
    CHECK_FALSE(policy.state_changed());
  }

  t = policy.on_open_failed(error(PortErrorKind::in_use));
  REQUIRE(t);
  CHECK(t->to == PortState::failed);
  CHECK_FALSE(policy.on_open_failed(error(PortErrorKind::in_use)));
  // A different reason for failing is news.
  t = policy.on_open_failed(error(PortErrorKind::permission));
  REQUIRE(t);
  CHECK(t->from == PortState::failed);
  CHECK(t->to == PortState::failed);
  CHECK_FALSE(policy.on_open_failed(error(PortErrorKind::permission)));

  t = policy.on_open_ok();
  REQUIRE(t);
  CHECK(policy.state_changed());
  CHECK(t->describe() == "failed -> open");
  CHECK_FALSE(policy.on_open_ok());
  CHECK_FALSE(policy.state_changed());
}

TEST_CASE("serial reconnect policy: a device error while open means absent and waits min_delay", "[serial]") {
  ReconnectPolicy policy(ReconnectOptions{.min_delay = 50ms, .max_delay = 400ms});
  REQUIRE(policy.on_open_ok());

  auto t = policy.on_io_error(make_error_code(boost::system::errc::io_error));
  REQUIRE(t);
  CHECK(t->from == PortState::open);
  CHECK(t->to == PortState::absent);
  CHECK(policy.next_delay() == 50ms);  // never a zero-delay reopen loop

  // Still gone: the retries are silent and back off.
  CHECK_FALSE(policy.on_open_failed(error(PortErrorKind::not_found)));
  CHECK(policy.next_delay() == 100ms);
  CHECK_FALSE(policy.on_open_failed(error(PortErrorKind::not_found)));
  CHECK(policy.next_delay() == 200ms);

  REQUIRE(policy.on_open_ok());
  t = policy.on_io_error(boost::asio::error::eof);
  REQUIRE(t);
  CHECK(t->to == PortState::absent);

  REQUIRE(policy.on_open_ok());
  t = policy.on_io_error(make_error_code(boost::system::errc::bad_file_descriptor));
  REQUIRE(t);
  CHECK(t->to == PortState::failed);
}
