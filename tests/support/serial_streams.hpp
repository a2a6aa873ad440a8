// SerialStream on a pty for the serial tests: open one (REQUIRE on failure,
// the error shown) and run an io_context until a condition holds or a
// deadline passes, so no test can hang on a pty. Header-only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/serial_stream.hpp"

namespace weft::test {

// Generous: a loaded CI box can be slow with ptys.
inline constexpr std::chrono::seconds kSerialDeadline{5};

inline std::unique_ptr<serial::SerialStream> open_serial_stream(boost::asio::io_context& ioc,
                                                                const serial::SerialSettings& settings,
                                                                const std::string& lock_dir) {
  auto port = serial::open_exclusive(settings, lock_dir);
  INFO((port.ok() ? std::string() : port.error().message));
  REQUIRE(port.ok());
  return std::make_unique<serial::SerialStream>(ioc.get_executor(), std::move(port).value());
}

// Runs `ioc` until `done()` or `limit`; true if done.
template <typename Done>
bool run_serial_until(boost::asio::io_context& ioc, Done done,
                      std::chrono::steady_clock::duration limit = kSerialDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  ioc.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) ioc.run_one_for(std::chrono::milliseconds(10));
  return done();
}

}  // namespace weft::test
