// PtyPair: two connected pseudo-terminals for serial tests, made by socat in
// a fresh temp dir (links <dir>/a and <dir>/b); bytes written to one come
// out of the other. Start-up waits (bounded) until both links exist; kill()
// simulates unplugging the device, restart() plugging it back under the same
// paths. The destructor kills socat by PID and removes the dir. Header-only.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace weft::test {

class PtyPair {
public:
  static constexpr std::chrono::seconds kStartTimeout{5};
  static constexpr std::chrono::seconds kStopTimeout{5};

  // Throws std::runtime_error (with socat's log) if the links do not appear
  // within kStartTimeout.
  PtyPair() {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-pty-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::system_category(), "PtyPair: mkdtemp " + pattern);
    dir_ = pattern;
    a_ = dir_ + "/a";
    b_ = dir_ + "/b";
    log_ = dir_ + "/socat.log";
    try {
      start();
    } catch (...) {
      cleanup();
      throw;
    }
  }

  ~PtyPair() { cleanup(); }
  PtyPair(const PtyPair&) = delete;
  PtyPair& operator=(const PtyPair&) = delete;

  const std::string& a() const noexcept { return a_; }
  const std::string& b() const noexcept { return b_; }
  // The pair's private temp dir; tests may keep their own files here (lock files).
  const std::string& dir() const noexcept { return dir_; }
  pid_t pid() const noexcept { return pid_; }
  bool running() const noexcept { return pid_ > 0; }

  // Unplug: SIGTERM socat (SIGKILL after kStopTimeout), reap it, remove the
  // links. The pty masters close, so whoever holds a slave sees a hang-up.
  void kill() noexcept {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      if (!reap_within(kStopTimeout)) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
      }
      pid_ = -1;
    }
    std::error_code ignored;
    std::filesystem::remove(a_, ignored);
    std::filesystem::remove(b_, ignored);
  }

  // Plug back in: a new pair of ptys behind the same link paths.
  void restart() {
    kill();
    start();
  }

  // socat's stderr so far (-d -d: the pty names, errors).
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

private:
  void start() {
    std::vector<std::string> args{"socat", "-d", "-d", "pty,raw,echo=0,link=" + a_, "pty,raw,echo=0,link=" + b_};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, "socat", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::system_error(rc, std::system_category(), "PtyPair: cannot start socat (is it installed?)");
    pid_ = pid;

    const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
    while (!(exists(a_) && exists(b_))) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("PtyPair: socat exited before creating " + a_ + " and " + b_ + "; its log:\n" + log());
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill();
        throw std::runtime_error("PtyPair: socat did not create " + a_ + " and " + b_ + " within " +
                                 std::to_string(kStartTimeout.count()) + " s; its log:\n" + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // True once both the link and the pty it names exist.
  static bool exists(const std::string& link) {
    std::error_code ec;
    return std::filesystem::exists(link, ec);
  }

  bool reap_within(std::chrono::steady_clock::duration timeout) noexcept {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void cleanup() noexcept {
    kill();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  std::string dir_, a_, b_, log_;
  pid_t pid_ = -1;
};

}  // namespace weft::test
