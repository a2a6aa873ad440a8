// Shared by the device-side benchmarks: figures printed one per line as
// "<bench> <key>=<value>" (grep '^modbus efficiency='), the host load, a
// private temp dir, weft-devsim and weftd run as child processes, a
// blocking console client, and the generated gather configs (ports x
// instruments x points) they use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

#include "weft/apps/console/console_protocol.hpp"

namespace weft::bench {

// Prints figures of one benchmark, one per line, flushed.
class Figures {
public:
  explicit Figures(std::string bench) : bench_(std::move(bench)) {}
  void text(const std::string& key, const std::string& value) const;
  void num(const std::string& key, double value, int decimals) const;
  void count(const std::string& key, std::uint64_t value) const;
  // cpus and the 1-minute load average: other load inflates CPU and latency.
  void host() const;

private:
  std::string bench_;
};

// mkdtemp under $TMPDIR (or /tmp); removed with everything in it on destruction.
class TempDir {
public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` to path()/name; returns the full path.
  std::string write(const std::string& name, const std::string& text) const;

private:
  std::string path_;
};

// The weft-devsim to run: `explicit_path` if given, else the one next to this
// executable (same directory, or ../devsim/ as in the build tree). Throws
// std::runtime_error naming where it looked.
std::string find_devsim(const std::optional<std::string>& explicit_path);
// The same for weftd (same directory, or ../../apps/ as in the build tree).
std::string find_weftd(const std::optional<std::string>& explicit_path);

// A blocking console client (weftd's wire protocol): connects (retrying
// for 5 s while the socket is not there yet), then one request at a time,
// returning its final frame (stream chunks skipped). Throws
// std::runtime_error when the connection fails or closes.
class ConsoleClient {
public:
  explicit ConsoleClient(const std::string& path);
  ~ConsoleClient();
  ConsoleClient(const ConsoleClient&) = delete;
  ConsoleClient& operator=(const ConsoleClient&) = delete;
  console::Frame request(const std::string& line);
  int fd() const noexcept { return fd_; }

private:
  console::Frame next();
  int fd_;
  console::FrameDecoder decoder_;
};

// weft-devsim serving one port of a config on a pty at `link`, in a child
// process (its stdout goes to our stderr, with its log). start() returns once
// the link exists. stop() (and the destructor) sends SIGTERM, waits, and kills
// it if it has not gone after 5 s.
class DevsimProcess {
public:
  DevsimProcess() = default;
  ~DevsimProcess();
  DevsimProcess(const DevsimProcess&) = delete;
  DevsimProcess& operator=(const DevsimProcess&) = delete;

  void start(const std::string& devsim, const std::string& config, const std::string& port, const std::string& link,
             bool wire_time);
  void stop() noexcept;
  pid_t pid() const noexcept { return pid_; }
  // CPU time its main thread (the devsim's loop) has used so far, ns, from
  // /proc/PID/schedstat; -1 if unreadable.
  std::int64_t loop_cpu_ns() const;

private:
  pid_t pid_ = -1;
};

// A generated gather config: `ports` serial ports (19200 8E1 by default),
// `instruments` spread round-robin over them (units 1.. per port), each with
// `points` holding-register points read every `period_ms`. Points alternate
// float32 (2 registers) and uint16 (1 register) at consecutive addresses, so
// each instrument is one coalesced read; models cycle sine, random-walk, ramp
// (or, with every_poll_changes, all float32 ramps).
struct GatherShape {
  int ports = 5;
  int instruments = 50;
  int points = 3;
  double period_ms = 1000;
  unsigned baud = 19200;
  char parity = 'E';
  std::string log_level = "warn";
  std::string port_dir = "/dev";  // port k's path: <port_dir>/ttyBENCH<k>
  std::string lock_dir;           // empty: the system default
  // Every point float32 on a ramp over 0..1000 in 10 s, so each poll at
  // 10 Hz or faster reads a new value of every point (a CA monitor gets an
  // update per poll); false: the mix above, many unchanged between polls.
  bool every_poll_changes = false;
  // Registers one instrument's points cover (what one poll reads).
  int registers() const noexcept {
    return every_poll_changes ? 2 * points : 2 * ((points + 1) / 2) + points / 2;
  }
};
std::string gather_config_text(const GatherShape& shape);
std::string port_name(int k);                              // "p<k>"
std::string port_path(const GatherShape& shape, int k);    // <port_dir>/ttyBENCH<k>

std::string format_double(double v, int decimals);

// A port free for both UDP and TCP on 127.0.0.1 (the ca service binds both),
// with the next one free for UDP (the repeater port beacons go to: nothing
// listens there, which is what a bench wants). `ca` and `start` use it.
std::uint16_t free_ca_port();

// `--realtime` of the benches that run a weftd: its [realtime] table (the
// loop SCHED_FIFO 50 alone on CPU 1, every other thread on CPU 0) and the
// flag's help text.
inline constexpr const char* kRealtimeTable =
    "\n[realtime]\npolicy = \"fifo\"\npriority = 50\ncpus = \"1\"\nhelper_cpus = \"0\"\n";
inline constexpr const char* kRealtimeHelp =
    "run weftd with [realtime] policy = \"fifo\", priority 50, cpus \"1\", helper_cpus \"0\" "
    "(needs CAP_SYS_NICE or LimitRTPRIO: root here)";

}  // namespace weft::bench
