// See bench_support.hpp.
#include "bench_support.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace weft::bench {

std::string format_double(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::uint16_t free_ca_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int u = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(u, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(u);
      continue;
    }
    const int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool tcp_free = ::bind(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(t);
    ::close(u);
    if (tcp_free && ntohs(a.sin_port) < 65535) return ntohs(a.sin_port);
  }
  throw std::runtime_error("no free port for the ca service on 127.0.0.1");
}

void Figures::text(const std::string& key, const std::string& value) const {
  std::printf("%s %s=%s\n", bench_.c_str(), key.c_str(), value.c_str());
  std::fflush(stdout);
}
void Figures::num(const std::string& key, double value, int decimals) const {
  text(key, format_double(value, decimals));
}
void Figures::count(const std::string& key, std::uint64_t value) const { text(key, std::to_string(value)); }

void Figures::host() const {
  double load[3] = {NAN, NAN, NAN};
  if (::getloadavg(load, 3) < 0) load[0] = NAN;
  count("host_cpus", static_cast<std::uint64_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  num("host_loadavg_1m", load[0], 2);
}

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  const std::string p = file(name);
  std::ofstream out(p);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p);
  return p;
}

namespace {

std::string find_tool(const std::optional<std::string>& explicit_path, const std::string& name,
                      const std::vector<std::string>& dirs, const std::string& target) {
  if (explicit_path) {
    if (::access(explicit_path->c_str(), X_OK) != 0)
      throw std::runtime_error("--" + target + " " + *explicit_path + ": not an executable file");
    return *explicit_path;
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot read /proc/self/exe; pass --" + target + " PATH");
  const auto dir = self.parent_path();
  std::string tried;
  for (const auto& d : dirs) {
    const auto c = dir / d / name;
    if (::access(c.c_str(), X_OK) == 0) return std::filesystem::weakly_canonical(c).string();
    tried += (tried.empty() ? "" : ", ") + c.string();
  }
  throw std::runtime_error("no " + name + " at " + tried + "; build it (target " + name + ") or pass --" + target +
                           " PATH");
}

}  // namespace

std::string find_devsim(const std::optional<std::string>& explicit_path) {
  return find_tool(explicit_path, "weft-devsim", {".", "../devsim"}, "devsim");
}

std::string find_weftd(const std::optional<std::string>& explicit_path) {
  return find_tool(explicit_path, "weftd", {".", "../../apps"}, "weftd");
}

ConsoleClient::ConsoleClient(const std::string& path) : fd_(-1) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) break;
    ::close(fd_);
    fd_ = -1;
    if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("no console answers at " + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (next().kind != console::FrameKind::hello) {
    ::close(fd_);
    throw std::runtime_error("no hello from the console at " + path);
  }
}

ConsoleClient::~ConsoleClient() {
  if (fd_ >= 0) ::close(fd_);
}

console::Frame ConsoleClient::request(const std::string& line) {
  const std::string bytes = line + "\n";
  if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size()))
    throw std::runtime_error("console: send failed");
  for (;;) {
    console::Frame f = next();
    if (f.kind != console::FrameKind::data) return f;
  }
}

console::Frame ConsoleClient::next() {
  for (;;) {
    if (auto f = decoder_.next()) return *f;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("console: the connection closed");
    decoder_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  }
}

namespace {
bool reaped(pid_t pid, int options) {
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, options);
    if (r == pid) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // not our child any more
  }
}
}  // namespace

void DevsimProcess::start(const std::string& devsim, const std::string& config, const std::string& port,
                          const std::string& link, bool wire_time) {
  std::vector<std::string> args{devsim, "--config", config, "--port", port, "--pty-link", link};
  if (wire_time) args.emplace_back("--wire-time");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(STDERR_FILENO, STDOUT_FILENO);  // our stdout carries only figures
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(devsim.c_str(), argv.data());
    std::fprintf(stderr, "weft-bench: exec %s: %s\n", devsim.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  pid_ = pid;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    struct stat st {};
    if (::stat(link.c_str(), &st) == 0) return;  // the link resolves: the pty is there
    if (reaped(pid_, WNOHANG)) {
      pid_ = -1;
      throw std::runtime_error("weft-devsim exited before creating " + link);
    }
    if (std::chrono::steady_clock::now() > give_up) {
      stop();
      throw std::runtime_error("weft-devsim did not create " + link + " within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void DevsimProcess::stop() noexcept {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!reaped(pid_, WNOHANG)) {
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(pid_, SIGKILL);
      reaped(pid_, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

DevsimProcess::~DevsimProcess() { stop(); }

std::int64_t DevsimProcess::loop_cpu_ns() const {
  if (pid_ <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/schedstat");  // "<on-cpu ns> <wait ns> <slices>"
  long long ns = -1;
  if (!(in >> ns)) return -1;
  return ns;
}

std::string port_name(int k) {
  std::string name = "p";  // (not "p" + to_string(k): GCC 12 -Wstringop-overflow false positive)
  name += std::to_string(k);
  return name;
}
std::string port_path(const GatherShape& shape, int k) { return shape.port_dir + "/ttyBENCH" + std::to_string(k); }

namespace {
std::string duration_text(double ms) {
  const auto us = static_cast<long long>(std::llround(ms * 1000));
  if (us % 1000 == 0) return std::to_string(us / 1000) + "ms";
  return std::to_string(us) + "us";
}
}  // namespace

std::string gather_config_text(const GatherShape& s) {
  std::string t = "# generated by weft-bench\n[weftd]\nlog_level = \"" + s.log_level + "\"\n\n[service.gather]\n";
  if (!s.lock_dir.empty()) t += "lock_dir = \"" + s.lock_dir + "\"\n";
  for (int k = 0; k < s.ports; ++k) {
    t += "\n[[serial]]\nname = \"" + port_name(k) + "\"\npath = \"" + port_path(s, k) + "\"\nbaud = " +
         std::to_string(s.baud) + "\nparity = \"" + std::string(1, s.parity) + "\"\n";
  }
  static const char* const models[] = {
      R"(sim = { model = "sine", min = 20, max = 80, period = "10m" })",
      R"(sim = { model = "random-walk", min = 0, max = 500, step = 1 })",
      R"(sim = { model = "ramp", min = 0, max = 1000, period = "1h" })",
  };
  const char* changing = R"(sim = { model = "ramp", min = 0, max = 1000, period = "10s" })";
  for (int i = 0; i < s.instruments; ++i) {
    const int port = i % s.ports;
    const int unit = i / s.ports + 1;
    if (unit > 247) throw std::runtime_error("more than 247 instruments on one port");
    t += "\n[[instrument]]\nname = \"i" + std::to_string(i) + "\"\nport = \"" + port_name(port) +
         "\"\nunit = " + std::to_string(unit) + "\nperiod = \"" + duration_text(s.period_ms) + "\"\n";
    int address = 0;
    for (int p = 0; p < s.points; ++p) {
      const bool wide = s.every_poll_changes || p % 2 == 0;
      const char* model = s.every_poll_changes ? changing : models[p % 3];
      t += "  [[instrument.point]]\n  name = \"v" + std::to_string(p) + "\"\n  table = \"holding\"\n  address = " +
           std::to_string(address) + "\n  type = \"" + (wide ? "float32" : "uint16") + "\"\n  " + model + "\n";
      address += wide ? 2 : 1;
    }
  }
  return t;
}

}  // namespace weft::bench
