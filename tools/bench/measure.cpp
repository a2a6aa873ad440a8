// The instruments of measure.hpp: histogram indexing and quantiles, CPU from
// clock_gettime/getrusage, RSS from /proc/self/status, heap from mallinfo2,
// and fork+exec of /proc/self/exe with its stdout read through a pipe.
#include "measure.hpp"

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace weft::bench {

void LatencyHistogram::reset() noexcept {
  counts_.fill(0);
  count_ = negative_ = sum_ = 0;
  max_ = 0;
}

std::size_t LatencyHistogram::index(std::uint64_t v) noexcept {
  if (v < kSub) return static_cast<std::size_t>(v);
  const int e = std::bit_width(v) - 1;  // >= kSubBits
  if (e > kMaxExp) return kBuckets - 1;
  return static_cast<std::size_t>(e - kSubBits + 1) * kSub + ((v >> (e - kSubBits)) - kSub);
}

std::uint64_t LatencyHistogram::lower_bound(std::size_t idx) noexcept {
  if (idx < kSub) return idx;
  const std::size_t block = idx / kSub;
  return (idx % kSub + kSub) << (block - 1);
}

std::uint64_t LatencyHistogram::width(std::size_t idx) noexcept {
  return idx < kSub ? 1 : std::uint64_t{1} << (idx / kSub - 1);
}

std::int64_t LatencyHistogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const auto mid = static_cast<std::int64_t>(lower_bound(i) + width(i) / 2);
      return mid < max_ ? mid : max_;
    }
  }
  return max_;
}

namespace {
std::int64_t clock_ns(clockid_t id) noexcept {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
std::int64_t micros(const timeval& tv) noexcept { return static_cast<std::int64_t>(tv.tv_sec) * 1'000'000 + tv.tv_usec; }
}  // namespace

CpuSample sample_cpu() noexcept {
  CpuSample s;
  s.mono_ns = clock_ns(CLOCK_MONOTONIC);
  s.process_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  s.thread_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  s.user_us = micros(ru.ru_utime);
  s.sys_us = micros(ru.ru_stime);
  s.voluntary_switches = ru.ru_nvcsw;
  s.involuntary_switches = ru.ru_nivcsw;
  return s;
}

std::int64_t read_vmrss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));  // "VmRSS:     1234 kB"
  }
  return -1;
}

std::int64_t read_vmrss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

ThreadSched thread_sched(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/schedstat");
  long long on_cpu = -1, waiting = -1;  // "<on-cpu ns> <run-queue wait ns> <slices>"
  if (!(in >> on_cpu >> waiting)) return {};
  return {on_cpu, waiting};
}

std::int64_t process_cpu_ns(pid_t pid) {
  // /proc/PID/stat: "pid (comm) state ..." with utime and stime (fields 14
  // and 15) in clock ticks, threads that have ended included. comm may hold
  // spaces and parentheses: the fields start after the last ')'.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 1));
  std::string skip;
  for (int field = 3; field < 14; ++field) fields >> skip;
  long long utime = -1, stime = -1;
  if (!(fields >> utime >> stime)) return -1;
  return (utime + stime) * (1'000'000'000 / ::sysconf(_SC_CLK_TCK));
}

std::int64_t host_steal_ns() {
  // "cpu  user nice system idle iowait irq softirq steal ...", clock ticks.
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long field[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
  if (!(in >> cpu) || cpu != "cpu") return -1;
  for (long long& f : field)
    if (!(in >> f)) return -1;
  return field[7] * (1'000'000'000 / ::sysconf(_SC_CLK_TCK));
}

std::int64_t heap_in_use_bytes() noexcept {
  const struct mallinfo2 mi = ::mallinfo2();
  return static_cast<std::int64_t>(mi.uordblks + mi.hblkhd);
}

ResultLine& ResultLine::add(const std::string& key, std::int64_t value) { return add(key, std::to_string(value)); }
ResultLine& ResultLine::add(const std::string& key, std::uint64_t value) { return add(key, std::to_string(value)); }
ResultLine& ResultLine::add(const std::string& key, const std::string& value) {
  text_ += " " + key + "=" + value;
  return *this;
}
void ResultLine::print() const {
  std::printf("%s\n", text_.c_str());
  std::fflush(stdout);
}

ChildResult run_self(const std::vector<std::string>& args, const std::vector<std::string>& wrapper) {
  // Resolved before the fork: under a wrapper, /proc/self/exe would be the wrapper.
  std::string self = "/proc/self/exe";
  if (!wrapper.empty()) {
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) throw std::runtime_error(std::string("readlink /proc/self/exe: ") + std::strerror(errno));
    self.assign(path, static_cast<std::size_t>(n));
  }
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    static char name[] = "weft-bench";
    for (const auto& w : wrapper) argv.push_back(const_cast<char*>(w.c_str()));
    argv.push_back(wrapper.empty() ? name : self.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (wrapper.empty()) ::execv(self.c_str(), argv.data());
    else ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "weft-bench: exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string cmd;
  for (const auto& a : args) cmd += " " + a;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("child `weft-bench" + cmd + "` failed (status " + std::to_string(status) + ")");

  ChildResult result;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("result ", 0) != 0) continue;
    std::istringstream words(line.substr(7));
    std::string word;
    while (words >> word) {
      const auto eq = word.find('=');
      if (eq != std::string::npos) result[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  if (result.empty()) throw std::runtime_error("child `weft-bench" + cmd + "` printed no result line");
  return result;
}

double number(const ChildResult& r, const std::string& key) {
  const auto it = r.find(key);
  if (it == r.end()) throw std::runtime_error("child result has no '" + key + "'");
  return std::stod(it->second);
}

}  // namespace weft::bench
