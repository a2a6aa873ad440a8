// Child processes for weftctl update (run_command.hpp): fork, a process
// group of its own (so a timeout kills what it started too), exec; the
// parent polls waitpid every 20 ms until the exit or the deadline.
#include "run_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace weftctl {
namespace {

using Clock = std::chrono::steady_clock;

std::string read_tail(const std::string& path, std::size_t max) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return {};
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  const long from = size > static_cast<long>(max) ? size - static_cast<long>(max) : 0;
  std::fseek(f, from, SEEK_SET);
  std::string out(static_cast<std::size_t>(size - from), '\0');
  const std::size_t got = std::fread(out.data(), 1, out.size(), f);
  out.resize(got);
  std::fclose(f);
  return out;
}

}  // namespace

std::string CommandResult::summary() const {
  std::string last = output;
  while (!last.empty() && (last.back() == '\n' || last.back() == ' ')) last.pop_back();
  if (const std::size_t nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  if (last.size() > 200) last = last.substr(0, 197) + "...";
  std::string head = error.empty() ? "exit " + std::to_string(status) : error;
  return last.empty() ? head : head + ": " + last;
}

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandSpec shell_step(const std::string& command, const std::vector<std::string>& args) {
  CommandSpec spec;
  spec.argv = {"/bin/sh", "-c", args.empty() ? command : command + " \"$@\"", "sh"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  return spec;
}

CommandResult run_command(const CommandSpec& spec) {
  CommandResult r;
  const auto started = Clock::now();
  int out_fd = -1;
  int pipe_fd[2] = {-1, -1};
  if (!spec.log.empty()) {
    out_fd = ::open(spec.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      r.error = "cannot open " + spec.log + ": " + std::strerror(errno);
      return r;
    }
  } else if (::pipe2(pipe_fd, O_CLOEXEC) != 0) {
    r.error = std::string("pipe(): ") + std::strerror(errno);
    return r;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.error = std::string("fork(): ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    const int out = out_fd >= 0 ? out_fd : pipe_fd[1];
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    if (spec.keep_fd >= 0) ::fcntl(spec.keep_fd, F_SETFD, 0);  // survives the exec
    std::vector<char*> argv;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // both sides: no race with the child's exec
  if (pipe_fd[1] >= 0) {
    ::close(pipe_fd[1]);
    ::fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK);
  }
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec.timeout_s));
  int wstatus = 0;
  bool timed_out = false;
  for (;;) {
    if (pipe_fd[0] >= 0) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(pipe_fd[0], buf, sizeof buf)) > 0) r.output.append(buf, static_cast<std::size_t>(n));
    }
    const pid_t done = ::waitpid(pid, &wstatus, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      r.error = std::string("waitpid(): ") + std::strerror(errno);
      break;
    }
    if (Clock::now() >= deadline && !timed_out) {
      ::kill(-pid, SIGKILL);
      timed_out = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (pipe_fd[0] >= 0) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(pipe_fd[0], buf, sizeof buf)) > 0) r.output.append(buf, static_cast<std::size_t>(n));
    ::close(pipe_fd[0]);
  }
  if (out_fd >= 0) {
    ::close(out_fd);
    r.output = read_tail(spec.log, 4096);
  }
  r.took_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (timed_out) {
    char t[64];
    std::snprintf(t, sizeof t, "killed after %g s (timeout)", spec.timeout_s);
    r.error = t;
  } else if (r.error.empty() && WIFEXITED(wstatus)) {
    r.status = WEXITSTATUS(wstatus);
  } else if (r.error.empty() && WIFSIGNALED(wstatus)) {
    r.error = "killed by signal " + std::to_string(WTERMSIG(wstatus));
  }
  return r;
}

}  // namespace weftctl
