// See weftd_process.hpp.
#include "weftd_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench_support.hpp"

namespace weft::bench {

using Clock = std::chrono::steady_clock;

WeftdProcess::WeftdProcess(const std::string& weftd, const std::string& config, const std::string& log,
                           const std::string& notify_socket) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    if (notify_socket.empty()) ::unsetenv("NOTIFY_SOCKET");  // never tell a real systemd about this box
    else ::setenv("NOTIFY_SOCKET", notify_socket.c_str(), 1);
    std::vector<std::string> args{weftd, "--config", config};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(weftd.c_str(), argv.data());
    std::fprintf(stderr, "weft-bench: exec %s: %s\n", weftd.c_str(), std::strerror(errno));
    ::_exit(127);
  }
}

bool WeftdProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int WeftdProcess::stop() noexcept {
  if (pid_ <= 0) return exit_status_;
  ::kill(pid_, SIGTERM);
  const auto give_up = Clock::now() + std::chrono::seconds(20);
  while (running()) {
    if (Clock::now() > give_up) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      exit_status_ = 137;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_status_;
}

void wait_all_ready(ConsoleClient& console, WeftdProcess& weftd, std::size_t services) {
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  std::string last;
  while (Clock::now() < give_up) {
    if (!weftd.running()) throw std::runtime_error("weftd exited (status " + std::to_string(weftd.exit_status()) + ")");
    const console::Frame f = console.request("--json services");
    last = f.payload;
    std::size_t ready = 0;
    for (auto at = last.find("\"ready\":true"); at != std::string::npos; at = last.find("\"ready\":true", at + 1)) ++ready;
    if (f.kind == console::FrameKind::ok && ready >= services) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("not every service of weftd was ready within 30 s: " + last);
}

void print_log(const std::string& why, const std::string& path) {
  std::fprintf(stderr, "weft-bench: %s; weftd's log (%s):\n", why.c_str(), path.c_str());
  std::FILE* f = std::fopen(path.c_str(), "r");
  for (char line[1024]; f != nullptr && std::fgets(line, sizeof line, f) != nullptr;) std::fputs(line, stderr);
  if (f != nullptr) std::fclose(f);
}

}  // namespace weft::bench
