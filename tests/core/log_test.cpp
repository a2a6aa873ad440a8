// The log path when stderr blocks (weft/core/log.hpp): with fd 2 on a full
// pipe that nobody reads, logging more lines than the queue holds and then
// flushing returns within its bound (it used to wait for queue room for
// ever), every lost line is counted, and once the pipe is read again the
// first line written says how many were lost.
#include "weft/core/log.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include <spdlog/spdlog.h>

namespace {

// fd 2 on the write end of a pipe whose buffer is full (the write end is
// blocking, as a real stderr is); the real stderr is back on destruction.
class BlockedStderr {
public:
  BlockedStderr() {
    REQUIRE(::pipe2(fds_, O_CLOEXEC) == 0);
    // The default size (64 KiB, 16 pages): a one-page pipe polls unwritable
    // as soon as it holds a byte, which no real stderr does.
    const int flags = ::fcntl(fds_[1], F_GETFL);
    REQUIRE(::fcntl(fds_[1], F_SETFL, flags | O_NONBLOCK) == 0);
    const char junk[256] = {};
    while (::write(fds_[1], junk, sizeof junk) > 0) {
    }
    REQUIRE(errno == EAGAIN);
    REQUIRE(::fcntl(fds_[1], F_SETFL, flags) == 0);
    REQUIRE(::fcntl(fds_[0], F_SETFL, ::fcntl(fds_[0], F_GETFL) | O_NONBLOCK) == 0);
    saved_ = ::dup(2);
    REQUIRE(saved_ >= 0);
    REQUIRE(::dup2(fds_[1], 2) == 2);
  }
  ~BlockedStderr() {
    ::dup2(saved_, 2);
    ::close(saved_);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  BlockedStderr(const BlockedStderr&) = delete;
  BlockedStderr& operator=(const BlockedStderr&) = delete;

  // Everything in the pipe now (it does not wait).
  std::string drain() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

private:
  int fds_[2] = {-1, -1};
  int saved_ = -1;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("a stderr nobody reads costs log lines, counted, and never an unbounded flush", "[log]") {
  auto log = weft::logging::make_logger("blocked-stderr-test");
  weft::logging::flush();  // earlier lines out of the way: the log thread is idle
  const std::uint64_t lost_before = weft::logging::dropped_log_lines();
  constexpr int kLines = 10000;  // more than the queue holds (1024, log.cpp)
  {
    BlockedStderr blocked;
    for (int i = 0; i < kLines; ++i) log->warn("line {} to a stderr that nobody reads", i);

    const auto started = std::chrono::steady_clock::now();
    weft::logging::flush();
    weft::logging::flush();  // a second exit-path flush is bounded too
    const double took = seconds_since(started);
    INFO("two flushes took " << took << " s");
    CHECK(took < 30.0);  // bounded by 1 s per blocked write and 5 s per flush; it used to be for ever
    // None of them reached the pipe, and each one is counted: overwritten in
    // the queue, or dropped by the log thread when stderr did not take it.
    CHECK(weft::logging::dropped_log_lines() - lost_before >= kLines);

    blocked.drain();  // someone reads stderr again
    log->warn("after the drain");
    CHECK(weft::logging::flush());
    const std::string text = blocked.drain();
    INFO(text);
    CHECK(text.find(" log lines lost (the log queue was full, or stderr did not take them); ") !=
          std::string::npos);
    CHECK(text.find("after the drain") != std::string::npos);
    CHECK(text.find("line 9999 to a stderr") == std::string::npos);
  }
  log->info("stderr is back");
  CHECK(weft::logging::flush());
}
