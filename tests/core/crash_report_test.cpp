// Crash reports end to end in a forked child: a real SIGSEGV (and an
// exception that reaches std::terminate) leaves a dump; decoding it here
// (same binary, other address space) gives a report with the signal, the
// service that was running and the function that crashed, and the last
// slots of every watched ring (the serial flight recorders).
#include "weft/core/crash_report.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/core/service_stats.hpp"
#include "weft/core/stall_monitor.hpp"
#include "support/files.hpp"

namespace {

// no_sanitize_undefined: the null store is the point (a real SIGSEGV); UBSan would stop it first.
[[gnu::noipa, gnu::no_sanitize_undefined]] void crash_test_segv(volatile int* p) { *p = 7; }  // noipa: no trap for a known null
volatile int* volatile g_null = nullptr;
using Fn = void (*)();
Fn volatile g_bad_fn = reinterpret_cast<Fn>(0x47);
volatile int g_after_call = 0;
[[gnu::noipa]] void crash_test_bad_jump() {  // a call (not a tail jump) through a corrupt pointer
  g_bad_fn();
  g_after_call = 1;
}
[[gnu::noipa]] void crash_test_throw() noexcept(false) { throw std::runtime_error("boom in test"); }
[[gnu::noipa]] void crash_test_noexcept() noexcept { crash_test_throw(); }

// Forks a child that installs the handlers, pretends service "victim" is
// running on its loop, and runs `die`. Returns the child's wait status.
template <typename F>
int in_child(const std::string& dir, F die) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    static weft::LoopBeacon beacon;
    static weft::ServiceStats stats;
    weft::crash::install_crash_handlers(dir);
    beacon.loop_tid.store(static_cast<int>(::syscall(SYS_gettid)));
    beacon.turn(&stats, 1);
    weft::crash::set_loop(&beacon, {{&stats, "victim"}});
    die();
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

// A ring slot as a flight recorder lays it out (any fixed-size layout works).
struct TestSlot {
  std::int64_t at_ns;
  std::uint8_t direction;
  std::uint8_t verdict;
  std::uint16_t length;
  std::uint16_t kept;
  std::uint8_t bytes[6];
};

struct TestRing {
  TestSlot slots[4]{};
  std::size_t next = 0;
  std::uint64_t total = 0;
  void record(std::uint8_t direction, std::uint8_t verdict, std::initializer_list<std::uint8_t> bytes,
              std::uint16_t length) {
    TestSlot& s = slots[next];
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    s.at_ns = static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec - 2000000000;  // 2 s ago
    s.direction = direction;
    s.verdict = verdict;
    s.length = length;
    s.kept = static_cast<std::uint16_t>(std::min<std::size_t>(bytes.size(), sizeof s.bytes));
    std::copy_n(bytes.begin(), s.kept, s.bytes);
    next = (next + 1) % 4;
    ++total;
  }
  weft::crash::RingHandle watch(const std::string& title) const {
    weft::crash::RingLayout layout;
    layout.stride = sizeof(TestSlot);
    layout.capacity = 4;
    layout.mono_ns = offsetof(TestSlot, at_ns);
    layout.direction = offsetof(TestSlot, direction);
    layout.verdict = offsetof(TestSlot, verdict);
    layout.length = offsetof(TestSlot, length);
    layout.kept = offsetof(TestSlot, kept);
    layout.bytes = offsetof(TestSlot, bytes);
    layout.verdicts = "ok sent timeout";
    return weft::crash::watch_ring(title, slots, layout, &next, &total);
  }
};

}  // namespace

TEST_CASE("a SIGSEGV leaves a report naming the signal, the service and the function", "[crash]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  const int status = in_child(dir, [] { crash_test_segv(g_null); });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);  // re-raised with the default action

  const auto reports = weft::crash::decode_pending(dir);
  REQUIRE(reports.size() == 1);
  const auto& r = reports[0];
  CHECK(r.cause == "SIGSEGV (fault address 0x0)");
  CHECK(r.service == "victim");
  INFO(weft::test::read_file(r.path));
  CHECK(r.where.find("crash_test_segv") != std::string::npos);
  CHECK(r.where.find("crash_report_test.cpp:") != std::string::npos);
  CHECK(r.time.size() == 20);  // 2026-11-22T17:48:07Z
  const std::string text = weft::test::read_file(r.path);
  CHECK(text.find("thread: ") != std::string::npos);
  CHECK(text.find(" loop\n") != std::string::npos);
  CHECK(text.find("stack (innermost first):\n  #0 ") != std::string::npos);

  // Decoded once: the dump is gone, the report stays and is listed.
  CHECK(weft::crash::decode_pending(dir).empty());
  const auto listed = weft::crash::list_reports(dir);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].cause == r.cause);
  const std::string line = weft::crash::describe(listed[0]);
  CHECK(line.rfind("previous run crashed: SIGSEGV (fault address 0x0) in service victim at ", 0) == 0);
  CHECK(line.find("report: " + r.path) != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("an exception reaching std::terminate leaves a report with its type and message", "[crash]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  const int status = in_child(dir, [] { crash_test_noexcept(); });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  const auto reports = weft::crash::decode_pending(dir);
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].cause == "uncaught exception std::runtime_error: boom in test");
  CHECK(reports[0].service == "victim");
  INFO(weft::test::read_file(reports[0].path));
  CHECK(reports[0].where.find("crash_test_") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a jump to a bad address is reported with its caller, not a second fault", "[crash]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  const int status = in_child(dir, [] { crash_test_bad_jump(); });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  const auto reports = weft::crash::decode_pending(dir);
  REQUIRE(reports.size() == 1);
  INFO(weft::test::read_file(reports[0].path));
  CHECK(reports[0].cause == "SIGSEGV (fault address 0x47)");
  CHECK(reports[0].service == "victim");
  CHECK(reports[0].where.find("crash_test_bad_jump") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("installing the crash handlers again takes the signals back from a handler installed since", "[crash]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  const int status = in_child(dir, [&dir] {
    struct sigaction other {};  // what a test framework or a library does between two runtimes
    other.sa_handler = [](int) { ::_exit(42); };
    ::sigemptyset(&other.sa_mask);
    ::sigaction(SIGSEGV, &other, nullptr);
    weft::crash::install_crash_handlers(dir);
    crash_test_segv(g_null);
  });
  REQUIRE(WIFSIGNALED(status));  // exit 42: the other handler swallowed the crash
  CHECK(WTERMSIG(status) == SIGSEGV);
  CHECK(weft::crash::decode_pending(dir).size() == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("only the newest reports are kept", "[crash]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  for (int i = 0; i < 5; ++i) std::ofstream(dir + "/2026010" + std::to_string(i) + "T000000Z-1.txt") << "cause: x\n";
  weft::crash::decode_pending(dir, 3);
  const auto listed = weft::crash::list_reports(dir);
  REQUIRE(listed.size() == 3);
  CHECK(listed[0].path == dir + "/20260102T000000Z-1.txt");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a crash report carries the last slots of every watched ring, oldest first", "[crash][frames]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  const int status = in_child(dir, [] {
    static TestRing ring;
    static TestRing empty;
    ring.record(0, 1, {0xee}, 1);  // overwritten by the fifth
    ring.record(0, 1, {0x01, 0x03, 0x00, 0x0a}, 4);
    ring.record(1, 0, {0x01, 0x03, 0x02, 0xbe, 0xef, 0x99}, 7);  // one byte was not kept
    ring.record(0, 1, {0x02, 0x04}, 2);
    ring.record(1, 2, {}, 0);
    static weft::crash::RingHandle a = ring.watch("serial ttyTEST");
    static weft::crash::RingHandle b = empty.watch("serial ttyIDLE");
    crash_test_segv(g_null);
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  const auto reports = weft::crash::decode_pending(dir);
  REQUIRE(reports.size() == 1);
  const std::string text = weft::test::read_file(reports[0].path);
  INFO(text);
  const auto at = text.find("serial ttyTEST: last frames (4 of 5 recorded; ms relative to the crash)\n");
  REQUIRE(at != std::string::npos);
  std::istringstream lines(text.substr(at));
  std::string line;
  std::getline(lines, line);
  const char* expected[] = {" ms tx 01 03 00 0a  sent", " ms rx 01 03 02 be ef 99 ... (7 bytes)  ok",
                            " ms tx 02 04  sent", " ms rx  timeout"};
  for (const char* tail : expected) {
    REQUIRE(std::getline(lines, line));
    CHECK(line.rfind("  -", 0) == 0);  // recorded before the crash
    CHECK(line.size() > std::strlen(tail));
    CHECK(line.substr(line.find(" ms ")) == tail);
  }
  CHECK(text.find(" ee ") == std::string::npos);  // the overwritten slot is gone
  CHECK(text.find("serial ttyIDLE: last frames (0 of 0 recorded; ms relative to the crash)\n  (none)\n") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("std::terminate writes watched rings too, and a released ring is not written", "[crash][frames]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  const int status = in_child(dir, [] {
    static TestRing ring;
    ring.record(0, 1, {0x42}, 1);
    { const weft::crash::RingHandle gone = ring.watch("serial ttyGONE"); }
    static weft::crash::RingHandle kept = ring.watch("serial ttyKEPT");
    crash_test_noexcept();
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  const auto reports = weft::crash::decode_pending(dir);
  REQUIRE(reports.size() == 1);
  const std::string text = weft::test::read_file(reports[0].path);
  INFO(text);
  CHECK(text.find("serial ttyGONE") == std::string::npos);
  const auto at = text.find("serial ttyKEPT: last frames (1 of 1 recorded; ms relative to the crash)\n  -");
  REQUIRE(at != std::string::npos);
  CHECK(text.find(" ms tx 42  sent\n", at) != std::string::npos);
  std::filesystem::remove_all(dir);
}

// A full disk: the report cannot be written. The crash is still returned
// (to be logged from memory), says why it was not written, and its dump
// stays for the next start, which writes the report once it can.
TEST_CASE("a report that cannot be written is still returned, and its dump is kept for the next start", "[crash]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  const int status = in_child(dir, [] { crash_test_segv(g_null); });
  REQUIRE(WIFSIGNALED(status));
  std::string dump;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".dump") dump = e.path().string();
  REQUIRE(!dump.empty());
  const std::string stem = dump.substr(0, dump.size() - 5);
  // A directory where the report goes makes writing it fail, as a full disk
  // would (we are root here, so permissions would not): its temp, written
  // whole, cannot be renamed there.
  std::filesystem::create_directory(stem + ".txt");

  std::vector<weft::crash::CrashReport> reports;
  REQUIRE_NOTHROW(reports = weft::crash::decode_pending(dir));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].cause == "SIGSEGV (fault address 0x0)");
  CHECK(reports[0].service == "victim");
  CHECK_THAT(reports[0].write_error, Catch::Matchers::StartsWith("cannot rename " + stem + ".txt."));
  CHECK_THAT(reports[0].write_error, Catch::Matchers::Contains(".tmp to " + stem + ".txt: Is a directory"));
  CHECK_THAT(reports[0].write_error,
             Catch::Matchers::EndsWith("the dump " + dump + " is kept and decoded again at the next start"));
  const std::string line = weft::crash::describe(reports[0]);
  CHECK(line.rfind("previous run crashed: SIGSEGV (fault address 0x0) in service victim at ", 0) == 0);
  CHECK(line.find("; not written: cannot rename ") != std::string::npos);
  CHECK(std::filesystem::exists(dump));
  for (const auto& e : std::filesystem::directory_iterator(dir))
    CHECK(e.path().extension() != ".tmp");  // the failed attempt left no temp holding space

  std::filesystem::remove(stem + ".txt");  // room again
  REQUIRE_NOTHROW(reports = weft::crash::decode_pending(dir));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].write_error.empty());
  CHECK(reports[0].path == stem + ".txt");
  CHECK(std::filesystem::exists(stem + ".txt"));
  CHECK_FALSE(std::filesystem::exists(dump));
  CHECK(weft::crash::describe(reports[0]).find("not written") == std::string::npos);
  std::filesystem::remove_all(dir);
}

// The dying process may fill the disk while it writes: a dump cut anywhere
// (even empty) is decoded as far as it goes, never an exception at start.
TEST_CASE("a dump cut short or empty is decoded as far as it goes", "[crash]") {
  const std::string dir = weft::test::temp_dir("weft-crash");
  std::ofstream(dir + "/20260101T000000Z-1.dump") << "weft crash dump 1\ntime 2026-01-01T00:00:00Z\npid 1\n"
                                                     "cause SIGSEGV (fault address 0x8)\npc ";
  std::ofstream(dir + "/20260101T000001Z-2.dump") << "weft crash dump 1\ntime 2026-01-01T00:00:01Z\npid 2\n"
                                                     "cause SIGBUS\npc 0x1234\nservice gather\nthread 9 loop\nmono ";
  std::ofstream(dir + "/20260101T000002Z-3.dump") << "weft crash dump 1\ncause SIGFPE\npc 0x10\nmaps\n"
                                                     "7f0000000000-7f00";
  std::ofstream(dir + "/20260101T000003Z-4.dump");  // empty: not a byte could be written
  std::vector<weft::crash::CrashReport> reports;
  REQUIRE_NOTHROW(reports = weft::crash::decode_pending(dir));
  REQUIRE(reports.size() == 4);
  CHECK(reports[0].cause == "SIGSEGV (fault address 0x8)");
  CHECK(reports[0].service == "(unknown)");
  CHECK(reports[1].cause == "SIGBUS");
  CHECK(reports[1].service == "gather");
  CHECK(reports[2].cause == "SIGFPE");
  CHECK(reports[3].cause == "(unknown: the dump is empty or cut short; was the disk full?)");
  for (const auto& r : reports) {
    CHECK(r.write_error.empty());
    CHECK(r.where == "(unknown)");
  }
  std::filesystem::remove_all(dir);
}

// Found by the crash_report fuzz target: a torn dump whose ring layout holds
// a field offset near SIZE_MAX made `offset + sizeof v` wrap, so the decoder
// read before the slot (under ASan: a heap overflow at the next start, the
// one that decodes the crash). Such a field now reads as 0.
TEST_CASE("a dumped ring whose layout offsets wrap around is rendered without reading outside its slots", "[crash][frames]") {
  const std::string dir = weft::test::temp_dir("weft-crash-wrap");
  {
    // One 4 KiB slot: every byte zero but the verdict (1: "ok"). The time
    // stamp's offset is SIZE_MAX - 7, so offset + 8 wraps to 0: the old check
    // passed and read the 8 bytes before the slot (glibc's chunk header,
    // about 4 KiB, printed as "+0.004 ms").
    std::string slot(2 * 4096, '0');
    slot[2 * 9 + 1] = '1';
    std::ofstream dump(dir + "/20260101T000000Z-1.dump");
    dump << "time 2026-01-01T00:00:00Z\ncause SIGSEGV (fault address 0x0)\nservice gather\nmono 0\n"
         << "ring serial ttyS9\n"
         << "layout 4096 1 18446744073709551608 8 9 10 12 14\n"
         << "verdicts sent ok\ncount 1 1\n"
         << slot << "\n"
         << "end rings\nframes 0\n";
  }
  const std::vector<weft::crash::CrashReport> reports = weft::crash::decode_pending(dir);
  REQUIRE(reports.size() == 1);
  REQUIRE(reports[0].write_error.empty());
  const std::string text = weft::test::read_file(reports[0].path);
  // The time stamp is outside the slot: read as 0, the crash's own time.
  CHECK_THAT(text, Catch::Matchers::Contains("serial ttyS9: last frames (1 of 1 recorded; ms relative to the crash)\n"
                                             "  +0.000 ms tx  ok\n"));
}
