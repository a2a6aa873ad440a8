// systemd notify against a fake NOTIFY_SOCKET (a Unix datagram socket made
// here, as systemd makes one): READY=1 once every service is ready,
// STATUS= lines, WATCHDOG=1 at half of WATCHDOG_USEC while the loop is
// healthy and none while it stalls, STOPPING=1 on shutdown.
#include "weft/core/systemd_notify.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <filesystem>
#include <string>
#include <vector>

#include "weft/core/context.hpp"
#include "weft/core/runtime.hpp"
#include "support/spin.hpp"

using namespace std::chrono_literals;
using boost::asio::awaitable;

namespace {

// A bound datagram socket and NOTIFY_SOCKET pointing at it, for one test.
// Like systemd it reads all the time (a reader thread): an unread datagram
// socket fills up, and then senders block.
class FakeNotifySocket {
public:
  enum class Namespace { path, abstract };  // NOTIFY_SOCKET=/dir/notify.sock or @name
  explicit FakeNotifySocket(Namespace ns = Namespace::path) {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-notify-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    path_ = dir_ + "/notify.sock";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len = sizeof addr;
    if (ns == Namespace::abstract) {
      const std::string name = "weft-notify-test-" + std::to_string(::getpid());
      std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == '\0'
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
      path_ = "@" + name;
    } else {
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    }
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    timeval tv{0, 10000};  // the reader checks for the end every 10 ms
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    reader_ = std::thread([this] { read_all(); });
  }
  ~FakeNotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    stop_ = true;
    reader_.join();
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  // Every message received so far (one per line of each datagram), once
  // there are at least `at_least` and `last` is among them (waits at most 5 s).
  std::vector<std::string> messages(std::size_t at_least = 0, const std::string& last = {}) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (messages_.size() >= at_least &&
            (last.empty() || std::find(messages_.begin(), messages_.end(), last) != messages_.end()))
          return messages_;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::lock_guard lock(mutex_);
    return messages_;
  }

private:
  void read_all() {
    char buf[4096];
    while (!stop_) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      const std::string msg(buf, static_cast<std::size_t>(n));
      std::lock_guard lock(mutex_);
      for (std::size_t start = 0; start < msg.size();) {
        auto end = msg.find('\n', start);
        if (end == std::string::npos) end = msg.size();
        messages_.push_back(msg.substr(start, end - start));
        start = end + 1;
      }
    }
  }

  std::string dir_, path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> messages_;
  std::thread reader_;
};

std::size_t index_of(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<std::size_t>(std::find(v.begin(), v.end(), s) - v.begin());
}

}  // namespace

TEST_CASE("notify sends one datagram to NOTIFY_SOCKET, and nothing without it", "[systemd]") {
  {
    FakeNotifySocket sock;
    CHECK(weft::systemd::notify("STATUS=hello"));
    CHECK(sock.messages(1) == std::vector<std::string>{"STATUS=hello"});
    CHECK_FALSE(weft::systemd::watchdog_timeout().has_value());
    ::setenv("WATCHDOG_USEC", "3000000", 1);
    CHECK(weft::systemd::watchdog_timeout() == std::chrono::seconds(3));
  }
  CHECK_FALSE(weft::systemd::notify("STATUS=nobody listens"));
}

TEST_CASE("notify reaches a NOTIFY_SOCKET in the abstract namespace (@name), as systemd may give one", "[systemd]") {
  FakeNotifySocket sock(FakeNotifySocket::Namespace::abstract);
  CHECK(weft::systemd::notify("READY=1\nSTATUS=both lines"));
  CHECK(sock.messages(2) == std::vector<std::string>{"READY=1", "STATUS=both lines"});
}

TEST_CASE("watchdog_timeout is WATCHDOG_USEC only for the process WATCHDOG_PID names, and only when well formed",
          "[systemd]") {
  FakeNotifySocket sock;
  ::setenv("WATCHDOG_USEC", "250000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  CHECK(weft::systemd::watchdog_timeout() == std::chrono::milliseconds(250));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);  // meant for another process
  CHECK_FALSE(weft::systemd::watchdog_timeout().has_value());
  ::unsetenv("WATCHDOG_PID");
  for (const char* bad : {"", "0", "-5", "12ms", "abc"}) {
    ::setenv("WATCHDOG_USEC", bad, 1);
    CHECK_FALSE(weft::systemd::watchdog_timeout().has_value());
  }
}

TEST_CASE("READY=1, STATUS=, WATCHDOG=1 only while the loop is healthy, STOPPING=1", "[systemd]") {
  FakeNotifySocket sock;
  ::setenv("WATCHDOG_USEC", "100000", 1);  // pings every 50 ms
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  weft::RuntimeOptions options;
  options.handle_signals = false;
  options.stall_threshold = 30ms;
  options.hang_threshold = 30s;
  weft::Runtime runtime(options);
  runtime.add(weft::coroutine_service("calm", {}, {}, [](weft::Context& ctx) -> awaitable<void> {
    ctx.ready();
    for (;;) co_await ctx.sleep(1h);
  }));
  runtime.add(weft::coroutine_service("staller", {"calm"}, {}, [&](weft::Context& ctx) -> awaitable<void> {
    ctx.ready();
    co_await ctx.sleep(400ms);
    weft::systemd::notify("STATUS=test: stalling");  // markers, in order with the runtime's messages
    weft::test::spin(700ms);  // 14 ping periods
    weft::systemd::notify("STATUS=test: stall over");
    co_await ctx.sleep(1200ms);  // a STATUS tick (1 s) and pings again
    runtime.request_stop();
    for (;;) co_await ctx.sleep(1h);
  }));
  REQUIRE(runtime.run() == weft::kExitOk);
  const auto msgs = sock.messages(0, "STOPPING=1");  // sent before run() returned
  std::string all;
  for (const auto& m : msgs) all += m + "\n";
  INFO(all);

  const auto ready = index_of(msgs, "READY=1");
  const auto stall = index_of(msgs, "STATUS=test: stalling");
  const auto over = index_of(msgs, "STATUS=test: stall over");
  const auto stopping = index_of(msgs, "STOPPING=1");
  REQUIRE(stopping < msgs.size());  // all four present, in this order
  REQUIRE(ready < stall);
  REQUIRE(stall < over);
  REQUIRE(over < stopping);
  auto pings = [&](std::size_t from, std::size_t to) {
    return std::count(msgs.begin() + static_cast<long>(from), msgs.begin() + static_cast<long>(to), "WATCHDOG=1");
  };
  CHECK(pings(0, stall) >= 2);           // healthy: ~8 in 400 ms
  CHECK(pings(stall, over) <= 1);        // stalled: one may have been on its way
  CHECK(pings(over, stopping) >= 2);     // healthy again
  CHECK(std::any_of(msgs.begin(), msgs.end(), [](const std::string& m) {
    return m.rfind("STATUS=2/2 services ready, 0 restarts, loop lag p99 ", 0) == 0;
  }));
}
