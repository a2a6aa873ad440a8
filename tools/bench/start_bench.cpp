// `weft-bench start`: cold start, fork + exec of weftd to its READY=1, as
// systemd sees it. The bench binds a Unix datagram socket, as systemd's
// notify socket is, and runs each program `--runs` times with
// NOTIFY_SOCKET pointing there; a run's figure is the bench's monotonic
// clock from just before fork() to the READY=1 datagram sent by that very
// process (SO_PASSCRED: the kernel stamps every datagram with its sender's
// pid, so a late STOPPING=1 of the run before never counts). Each run is
// stopped (SIGTERM) and must exit 0 before the next one starts.
//
// Three programs, interleaved run by run (so a change of load on the host
// falls on all three alike):
//   floor      weft-bench-ready (ready_at_once.cpp): READY=1 at once; what
//              fork, exec, the loader and this receive cost: the floor
//   heartbeat  weftd with [weftd] data_dir and one [service.heartbeat]
//   demo       weftd on examples/demo.toml (its /tmp/weft-demo paths moved
//              into the bench's temp dir, its CA ports moved to free ones),
//              polling weft-devsim --wire-time on a pty as `tools/dev demo`
//              runs it
// For heartbeat and demo, each run is a first boot (a new, empty data dir:
// the store file, its schema and the data-dir lock are made then) followed
// by a second start on the same dir (the store exists and is opened).
//
// The temp dir goes under --dir (default $TMPDIR or /tmp): put it on the
// disk the box uses, since a first boot's fsyncs cost what that disk costs
// (tmpfs makes them free).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "benches.hpp"
#include "weftd_process.hpp"

namespace weft::bench {
namespace {

using Clock = std::chrono::steady_clock;

// The bench's NOTIFY_SOCKET: a bound datagram socket that passes the
// sender's credentials with every datagram.
class NotifySocket {
public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
      throw std::runtime_error("notify socket path " + path + " is too long for a Unix socket: pass a shorter --dir");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    const int on = 1;
    if (fd_ < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0 ||
        ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("notify socket " + path + ": " + std::strerror(errno));
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  const std::string& path() const noexcept { return path_; }

  // The time READY=1 from `proc` arrived. Throws if it exits first or sends
  // none within 30 s. Datagrams of other senders are dropped.
  Clock::time_point wait_ready(WeftdProcess& proc) {
    const auto give_up = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      const int n = ::poll(&p, 1, 50);
      const Clock::time_point seen = Clock::now();
      if (n > 0 && ready_from(proc.pid())) return seen;
      if (n == 0 && !proc.running())
        throw std::runtime_error("exited with status " + std::to_string(proc.exit_status()) + " before READY=1");
      if (seen > give_up) throw std::runtime_error("no READY=1 within 30 s");
    }
  }

private:
  // Reads every queued datagram; true if one of them was READY=1 from `pid`.
  bool ready_from(pid_t pid) {
    bool ready = false;
    for (;;) {
      char buf[4096];
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
      iovec iov{buf, sizeof buf};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t got = ::recvmsg(fd_, &msg, 0);
      if (got < 0) return ready;  // EAGAIN: drained
      pid_t sender = -1;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
          ucred cred{};
          std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
          sender = cred.pid;
        }
      if (sender != pid) continue;
      std::istringstream lines(std::string(buf, static_cast<std::size_t>(got)));
      for (std::string line; std::getline(lines, line);)
        if (line == "READY=1") ready = true;
    }
  }

  std::string path_;
  int fd_ = -1;
};

struct Spread {
  double min = NAN, median = NAN, p90 = NAN, max = NAN;
};

// Nearest rank: of 20 values, p90 is the 18th.
Spread spread(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const auto i = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(n)));
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {v.front(), median, v[std::min(n - 1, i == 0 ? 0 : i - 1)], v.back()};
}

void print_spread(const Figures& fig, const std::string& key, const std::vector<double>& v) {
  const Spread s = spread(v);
  fig.num(key + "_median", s.median, 2);
  fig.num(key + "_p90", s.p90, 2);
  fig.num(key + "_max", s.max, 2);
  fig.num(key + "_min", s.min, 2);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + path + "; pass --demo-config PATH");
  return text.str();
}

// Every `from` in `text` replaced by `to`; throws if there was none (the
// demo config changed shape: this bench must follow it).
std::string replace_all(std::string text, const std::string& from, const std::string& to, const std::string& file) {
  std::size_t at = text.find(from);
  if (at == std::string::npos)
    throw std::runtime_error(file + " no longer contains \"" + from + "\": update tools/bench/start_bench.cpp");
  for (; at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
  return text;
}

// What a program's config holds, printed beside its figures: weftd's own
// `--check-config` line (the services it would start).
std::string checked_services(const std::string& weftd, const std::string& config) {
  const std::string command = "'" + weftd + "' --check-config '" + config + "' 2>&1";
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen " + command + ": " + std::strerror(errno));
  std::string out;
  for (char buf[512]; std::fgets(buf, sizeof buf, p) != nullptr;) out += buf;
  const int status = ::pclose(p);
  if (status != 0) throw std::runtime_error(config + " does not pass weftd --check-config: " + out);
  const auto open = out.find('('), close = out.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return out;
  const std::string inside = out.substr(open + 1, close - open - 1);  // "6 services: gather, ..."
  const auto colon = inside.find(": ");
  return colon == std::string::npos ? inside : inside.substr(colon + 2);
}

// One program and the configs of its runs.
struct Program {
  std::string name;
  std::string exe;
  std::string config_text;  // the template; "@RUN@" is the run's own dir
  bool second_start = true;
  std::vector<double> first_ms, second_ms;
};

std::string templated(const Program& p, const std::string& run_dir) {
  std::string t = p.config_text;
  for (auto at = t.find("@RUN@"); at != std::string::npos; at = t.find("@RUN@", at + run_dir.size()))
    t.replace(at, 5, run_dir);
  return t;
}

// A config on one line ("; " between its lines), to print it whole.
std::string one_line(const std::string& text) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out += (out.empty() ? "" : "; ") + line;
  return out;
}

// One start of `p` on `config`: ms from fork to READY=1. Stops it after
// (SIGTERM) and requires exit 0.
double start_once(const Program& p, const std::string& config, const std::string& log, NotifySocket& sock) {
  const Clock::time_point before = Clock::now();
  WeftdProcess proc(p.exe, config, log, sock.path());
  Clock::time_point ready;
  try {
    ready = sock.wait_ready(proc);
  } catch (const std::exception& e) {
    proc.stop();
    print_log(p.name + ": " + e.what(), log);
    throw std::runtime_error(p.name + " (" + config + "): " + e.what());
  }
  const int status = proc.stop();
  if (status != 0) {
    print_log(p.name + ": exit status " + std::to_string(status) + " after SIGTERM", log);
    throw std::runtime_error(p.name + " (" + config + "): exit status " + std::to_string(status) +
                             " after SIGTERM, not 0");
  }
  return std::chrono::duration<double, std::milli>(ready - before).count();
}

std::string find_floor(const std::optional<std::string>& explicit_path) {
  if (explicit_path) return *explicit_path;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto c = self.parent_path() / "weft-bench-ready";
  if (ec || ::access(c.c_str(), X_OK) != 0)
    throw std::runtime_error("no weft-bench-ready beside weft-bench; build it (target weft-bench-ready) or pass --floor");
  return c.string();
}

}  // namespace

int run_start(const StartArgs& a) {
  std::unique_ptr<TempDir> dir;
  if (!a.dir.empty()) {
    const char* old = std::getenv("TMPDIR");
    const std::string keep = old != nullptr ? old : "";
    ::setenv("TMPDIR", a.dir.c_str(), 1);
    dir = std::make_unique<TempDir>("weft-start-bench");
    if (old != nullptr) ::setenv("TMPDIR", keep.c_str(), 1);
    else ::unsetenv("TMPDIR");
  } else {
    dir = std::make_unique<TempDir>("weft-start-bench");
  }
  const std::string weftd = find_weftd(a.weftd);
  NotifySocket sock(dir->file("notify.sock"));

  // The demo: examples/demo.toml with its paths and ports moved.
  const std::string demo_file = a.demo_config.value_or(WEFT_DEMO_CONFIG);
  const std::uint16_t ca_port = free_ca_port();
  std::string demo = read_file(demo_file);
  demo = replace_all(demo, "/tmp/weft-demo/ttyUSB0", dir->file("ttyUSB0"), demo_file);
  demo = replace_all(demo, "/tmp/weft-demo", "@RUN@", demo_file);
  demo = replace_all(demo, "15064", std::to_string(ca_port), demo_file);
  demo = replace_all(demo, "15065", std::to_string(ca_port + 1), demo_file);

  std::vector<Program> programs(3);
  programs[0] = {"floor", find_floor(a.floor), "", false, {}, {}};
  programs[1] = {"heartbeat", weftd,
                 "[weftd]\ndata_dir = \"@RUN@/data\"\n\n[service.heartbeat]\nperiod = \"10s\"\nprefix = \"hb\"\n",
                 true, {}, {}};
  programs[2] = {"demo", weftd, demo, true, {}, {}};

  Figures fig("start");
  fig.host();
  fig.count("runs", static_cast<std::uint64_t>(a.runs));
  fig.text("dir", dir->path());
  fig.text("floor_exe", programs[0].exe);
  fig.text("weftd", weftd);
  {
    const std::string probe = dir->path() + "/probe";
    std::filesystem::create_directories(probe);
    fig.text("heartbeat_config", one_line(programs[1].config_text));
    fig.text("heartbeat_services", checked_services(weftd, dir->write("probe/heartbeat.toml", templated(programs[1], probe))));
    fig.text("demo_config", demo_file + " (/tmp/weft-demo -> the run's dir, CA ports " + std::to_string(ca_port) + "/" +
                                std::to_string(ca_port + 1) + ")");
    fig.text("demo_services", checked_services(weftd, dir->write("probe/demo.toml", templated(programs[2], probe))));
  }

  // weft-devsim on the demo's pty, as `tools/dev demo` runs it.
  DevsimProcess devsim;
  const std::string sim_config = dir->write("devsim.toml", templated(programs[2], dir->file("devsim")));
  devsim.start(find_devsim(a.devsim), sim_config, "rs485", dir->file("ttyUSB0"), /*wire_time=*/true);

  for (int i = 1; i <= a.runs; ++i) {
    for (Program& p : programs) {
      const std::string run_dir = dir->file(p.name + "-" + std::to_string(i));
      std::filesystem::create_directories(run_dir);
      const std::string config = dir->write(p.name + "-" + std::to_string(i) + "/weftd.toml", templated(p, run_dir));
      p.first_ms.push_back(start_once(p, config, run_dir + "/first.log", sock));
      if (p.second_start) p.second_ms.push_back(start_once(p, config, run_dir + "/second.log", sock));
    }
    std::fprintf(stderr, "weft-bench: start: run %d of %d: floor %.2f ms, heartbeat %.2f / %.2f ms, demo %.2f / %.2f ms\n",
                 i, a.runs, programs[0].first_ms.back(), programs[1].first_ms.back(), programs[1].second_ms.back(),
                 programs[2].first_ms.back(), programs[2].second_ms.back());
  }
  devsim.stop();

  print_spread(fig, "floor_ms", programs[0].first_ms);
  for (std::size_t k = 1; k < programs.size(); ++k) {
    print_spread(fig, programs[k].name + "_first_boot_ms", programs[k].first_ms);
    print_spread(fig, programs[k].name + "_second_start_ms", programs[k].second_ms);
  }
  fig.host();
  return 0;
}

}  // namespace weft::bench
