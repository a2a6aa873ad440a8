// `weft-bench footprint`: the two footprint figures of the demo box, the
// same way every run (issue 15's rows "stripped weftd" and "demo box RSS").
//
//   stripped size  the weftd beside weft-bench (or --weftd), stripped of
//                  everything strip(1) removes into a temp file: what a box
//                  carries when the debug information ships in a dbgsym.
//   box RSS        that weftd on examples/demo.toml (its /tmp/weft-demo paths
//                  moved into a temp dir, its CA ports moved to free ones)
//                  against weft-devsim serving the demo's rs485 port on a pty
//                  with --wire-time, as `tools/dev demo` runs it. After every
//                  service is ready and --seconds more (default 60), weftd's
//                  /proc/PID/status (VmRSS, RssAnon, RssFile, RssShmem,
//                  Threads) and smaps_rollup (Pss, Private_Dirty) are read,
//                  and /proc/PID/smaps is summed per mapping (file name, or
//                  [heap], [stack], anon) so the figure comes with where the
//                  pages are.
//   floor          the same readings of a C program doing nothing (sleep(1)
//                  from coreutils, linked with glibc alone) run by this
//                  harness: what no C++ daemon can get under.
//
// Figures are "footprint key=value" lines; the per-mapping breakdown is
// "footprint map rss_kib=.. private_dirty_kib=.. name=..", largest first.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include "bench_support.hpp"
#include "benches.hpp"
#include "weftd_process.hpp"

extern char** environ;

namespace weft::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr std::size_t kDemoServices = 6;  // gather, heartbeat, tap, ca, console, record

// Runs argv to completion (stdout to our stderr: our stdout is figures);
// throws naming the command when it cannot start or fails.
void run_tool(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + args[0] + ": " + std::strerror(rc) + " (install binutils)");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(args[0] + " failed on " + args.back());
}

std::uintmax_t stripped_bytes(const std::string& binary, const TempDir& dir) {
  const std::string out = dir.file("weftd.stripped");
  run_tool({"strip", "-o", out, binary});
  return std::filesystem::file_size(out);
}

// "Key:   1234 kB" lines of a /proc file, as KiB by key.
std::map<std::string, long long> kib_fields(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + " (has the process gone?)");
  std::map<std::string, long long> out;
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    char* end = nullptr;
    const long long v = std::strtoll(line.c_str() + colon + 1, &end, 10);
    if (end != line.c_str() + colon + 1) out[line.substr(0, colon)] = v;
  }
  return out;
}

struct Memory {
  long long vmrss = -1, anon = -1, file = -1, shmem = -1, pss = -1, private_dirty = -1, threads = -1;
};

Memory read_memory(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  auto status = kib_fields(proc + "/status");
  auto rollup = kib_fields(proc + "/smaps_rollup");
  Memory m;
  m.vmrss = status["VmRSS"];
  m.anon = status["RssAnon"];
  m.file = status["RssFile"];
  m.shmem = status["RssShmem"];
  m.threads = status["Threads"];
  m.pss = rollup["Pss"];
  m.private_dirty = rollup["Private_Dirty"];
  return m;
}

void print_memory(const Figures& fig, const std::string& prefix, const Memory& m) {
  fig.num(prefix + "vmrss_mib", static_cast<double>(m.vmrss) / 1024.0, 2);
  fig.count(prefix + "vmrss_kib", static_cast<std::uint64_t>(m.vmrss));
  fig.count(prefix + "rss_anon_kib", static_cast<std::uint64_t>(m.anon));
  fig.count(prefix + "rss_file_kib", static_cast<std::uint64_t>(m.file));
  fig.count(prefix + "rss_shmem_kib", static_cast<std::uint64_t>(m.shmem));
  fig.count(prefix + "pss_kib", static_cast<std::uint64_t>(m.pss));
  fig.count(prefix + "private_dirty_kib", static_cast<std::uint64_t>(m.private_dirty));
  fig.count(prefix + "threads", static_cast<std::uint64_t>(m.threads));
}

// /proc/PID/smaps summed per mapping name (the file, [heap], [stack], or
// "anon" for nameless mappings: thread stacks, malloc arenas, Asio's and
// SQLite's own allocations), largest RSS first.
struct MapUse {
  std::string name;
  long long rss = 0, private_dirty = 0;
};

std::vector<MapUse> per_mapping(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  if (!in) throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + "/smaps");
  std::map<std::string, MapUse> by_name;
  std::string current;
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    const bool header = colon == std::string::npos || line.find(' ') < colon;  // "addr-addr perms off dev inode [name]"
    if (header) {
      std::istringstream fields(line);
      std::string range, perms, offset, dev, inode, name;
      fields >> range >> perms >> offset >> dev >> inode;
      std::getline(fields >> std::ws, name);
      current = name.empty() ? "anon" : name;
      by_name[current].name = current;
      continue;
    }
    const long long v = std::strtoll(line.c_str() + colon + 1, nullptr, 10);
    if (line.rfind("Rss:", 0) == 0) by_name[current].rss += v;
    if (line.rfind("Private_Dirty:", 0) == 0) by_name[current].private_dirty += v;
  }
  std::vector<MapUse> out;
  for (auto& [name, use] : by_name)
    if (use.rss > 0) out.push_back(use);
  std::sort(out.begin(), out.end(), [](const MapUse& a, const MapUse& b) { return a.rss > b.rss; });
  return out;
}

void print_mappings(pid_t pid) {
  for (const MapUse& m : per_mapping(pid))
    std::printf("footprint map rss_kib=%lld private_dirty_kib=%lld name=%s\n", m.rss, m.private_dirty, m.name.c_str());
  std::fflush(stdout);
}

// A free TCP and UDP port on loopback (both: CA serves one number over both).
int free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (tcp < 0 || ::bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (tcp >= 0) ::close(tcp);
      continue;
    }
    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool udp_free = udp >= 0 && ::bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (udp >= 0) ::close(udp);
    ::close(tcp);
    if (udp_free) return ntohs(addr.sin_port);
  }
  throw std::runtime_error("no free loopback port for the demo's CA server");
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the demo config " + path + " (--demo-config)");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

void replace_once(std::string& text, const std::string& from, const std::string& to, const std::string& path) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error(path + " has no line '" + from + "' to move to a free port");
  text.replace(at, from.size(), to);
}

// The demo config with its paths in `dir` and its CA ports free.
std::string demo_config(const std::string& path, const TempDir& dir) {
  std::string text = read_text(path);
  if (text.find("/tmp/weft-demo") == std::string::npos)
    throw std::runtime_error(path + " names no /tmp/weft-demo path: is it the demo config?");
  replace_all(text, "/tmp/weft-demo", dir.path());
  replace_once(text, "port = 15064", "port = " + std::to_string(free_port()), path);
  replace_once(text, "repeater_port = 15065", "repeater_port = " + std::to_string(free_port()), path);
  return text;
}

// coreutils' sleep, started by this harness and read after a second.
Memory c_floor() {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  Memory m;
  try {
    m = read_memory(pid);
  } catch (...) {
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return m;
}

}  // namespace

int run_footprint(const FootprintArgs& a) {
  TempDir dir("weft-footprint-bench");
  Figures fig("footprint");
  fig.host();
  const std::string weftd_path = find_weftd(a.weftd);
  fig.text("weftd", weftd_path);

  const std::uintmax_t stripped = stripped_bytes(weftd_path, dir);
  fig.count("stripped_bytes", stripped);
  fig.num("stripped_mib", static_cast<double>(stripped) / kMiB, 2);
  fig.num("stripped_target_mib", 2.5, 2);
  if (a.size_only) return 0;

  const std::string config = dir.write("demo.toml", demo_config(a.demo_config, dir));
  std::filesystem::create_directories(dir.file("data"));
  DevsimProcess devsim;
  devsim.start(find_devsim(a.devsim), config, "rs485", dir.file("ttyUSB0"), /*wire_time=*/true);
  const std::string log = dir.file("weftd.log");
  WeftdProcess weftd(weftd_path, config, log);
  std::fprintf(stderr, "weft-bench: footprint: weftd pid %d on %s, measuring after %g s\n", weftd.pid(),
               config.c_str(), a.seconds);
  Memory m;
  std::string problem;
  try {
    ConsoleClient console(dir.file("weftd.sock"));
    wait_all_ready(console, weftd, kDemoServices);
    // The console connection stays open (as weftctl's would); it is idle.
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(a.seconds);
    while (std::chrono::steady_clock::now() < until) {
      if (!weftd.running()) throw std::runtime_error("weftd exited (status " + std::to_string(weftd.exit_status()) + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    m = read_memory(weftd.pid());
    fig.num("seconds", a.seconds, 1);
    print_memory(fig, "", m);
    fig.num("vmrss_target_mib", 6.0, 1);
    print_mappings(weftd.pid());
  } catch (const std::exception& e) {
    problem = e.what();
  }
  const int status = weftd.stop();
  devsim.stop();
  if (!problem.empty()) {
    print_log("footprint: " + problem, log);
    return 1;
  }
  fig.count("weftd_exit_status", static_cast<std::uint64_t>(status < 0 ? 255 : status));
  print_memory(fig, "floor_c_", c_floor());
  fig.host();
  return status == 0 ? 0 : 1;
}

}  // namespace weft::bench
