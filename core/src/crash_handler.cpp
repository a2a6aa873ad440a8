// The dying side of crash reports: std::terminate and fatal-signal handlers
// that write <crash_dir>/<stamp>-<pid>.dump. Inside the signal handler only
// async-signal-safe calls (open, write, read, close, fsync, clock_gettime,
// getpid, gettid, sigaction, raise) and code of our own over fixed static
// buffers: no allocation, no locks, no stdio. File format (text):
//   weft crash dump 1 / time / pid / cause / pc / service / thread /
//   mono (CLOCK_MONOTONIC ns) / maps + a copy of /proc/self/maps /
//   per watched ring: ring TITLE / layout .. / verdicts .. / count N TOTAL /
//   N lines of one slot's raw bytes in hex, oldest first /
//   frames N + one hex address per line.
// The rings go before the frames: unwinding is what may fault in here.
#define BOOST_STACKTRACE_LINK  // the backend is the linked library (core/CMakeLists.txt)
#include "weft/core/crash_report.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <typeinfo>

#include <boost/stacktrace/safe_dump_to.hpp>
#include <cxxabi.h>

#include "weft/core/loop_beacon.hpp"
#include "weft/core/service_stats.hpp"

namespace weft::crash {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE};
constexpr std::size_t kMaxFrames = 64;
constexpr std::size_t kNameLen = 64;
constexpr std::size_t kMaxNames = 4096;

struct NameEntry {
  const ServiceStats* stats;
  char name[kNameLen];
};

// Everything the handler touches, set up before any crash can use it.
char g_dir[1024];                              // crash dir, NUL-terminated
std::atomic<const LoopBeacon*> g_beacon{nullptr};
NameEntry g_names[kMaxNames];
std::atomic<std::size_t> g_name_count{0};
std::atomic<bool> g_dumping{false};            // first crash wins
// Watched rings (watch_ring): plain pointers and numbers, filled before
// `used` is set (release), read by the handler after it sees `used` (acquire).
struct RingEntry {
  std::atomic<bool> used{false};
  const unsigned char* base = nullptr;
  const std::size_t* next = nullptr;
  const std::uint64_t* total = nullptr;
  std::size_t stride = 0, capacity = 0;
  std::size_t offsets[6] = {};  // mono_ns direction verdict length kept bytes
  char title[96] = {};
  char verdicts[256] = {};
};
RingEntry g_rings[kMaxRings];
std::mutex g_rings_mutex;  // registration only; never taken by the handler
void* g_frames[kMaxFrames];
char g_line[512];
char g_copy[4096];
alignas(16) char g_alt_stack[64 * 1024];

// ---- async-signal-safe formatting over a caller's buffer -----------------

struct Out {
  char* buf;
  std::size_t cap;
  std::size_t len = 0;
  void put(const char* s) noexcept {
    while (*s != '\0' && len + 1 < cap) buf[len++] = *s++;
    buf[len] = '\0';
  }
  void put(char c) noexcept {
    if (len + 1 < cap) buf[len++] = c;
    buf[len] = '\0';
  }
  void dec(unsigned long long v, int width = 0) noexcept {
    char tmp[24];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0 && n < 24);
    for (int i = n; i < width; ++i) put('0');
    while (n > 0) put(tmp[--n]);
  }
  void hex(std::uintptr_t v) noexcept {
    put("0x");
    char tmp[20];
    int n = 0;
    do {
      tmp[n++] = "0123456789abcdef"[v & 0xf];
      v >>= 4;
    } while (v != 0 && n < 20);
    while (n > 0) put(tmp[--n]);
  }
};

void write_all(int fd, const char* p, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Days since 1970-01-01 to y/m/d (Howard Hinnant's civil_from_days).
void civil(long long days, long long& y, unsigned& m, unsigned& d) noexcept {
  days += 719468;
  const long long era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<long long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

// "20261122T174807Z" (compact: a file name) or "2026-11-22T17:48:07Z".
void put_time(Out& o, long long secs, bool compact) noexcept {
  long long y;
  unsigned m, d;
  civil(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400, y, m, d);
  const long long rem = ((secs % 86400) + 86400) % 86400;
  o.dec(static_cast<unsigned long long>(y), 4);
  if (!compact) o.put('-');
  o.dec(m, 2);
  if (!compact) o.put('-');
  o.dec(d, 2);
  o.put('T');
  o.dec(static_cast<unsigned long long>(rem / 3600), 2);
  if (!compact) o.put(':');
  o.dec(static_cast<unsigned long long>(rem / 60 % 60), 2);
  if (!compact) o.put(':');
  o.dec(static_cast<unsigned long long>(rem % 60), 2);
  o.put('Z');
}

const char* signal_name(int signo) noexcept {
  switch (signo) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGFPE: return "SIGFPE";
  }
  return "signal";
}

std::uintptr_t fault_pc(void* uctx) noexcept {
  if (uctx == nullptr) return 0;
  const auto* uc = static_cast<const ucontext_t*>(uctx);
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
#elif defined(__arm__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.arm_pc);
#else
  (void)uc;
  return 0;
#endif
}

const char* running_service() noexcept {
  const LoopBeacon* beacon = g_beacon.load(std::memory_order_acquire);
  if (beacon == nullptr) return "(none)";
  // A crash inside the beacon's own write leaves it mid-write: then the
  // service field alone, unchecked, is the best there is.
  const std::optional<LoopTurn> turn = beacon->read(8);
  const ServiceStats* current = turn ? turn->service : beacon->service_unchecked();
  if (current == nullptr) return "(none)";
  const std::size_t n = g_name_count.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i)
    if (g_names[i].stats == current) return g_names[i].name;
  return "(unknown)";
}

// The return address of a frame that jumped to a bad address (pc == the
// fault address): libgcc's unwinder would read code at that pc to look for a
// signal trampoline and fault again, so such a crash is not unwound; the
// caller is where the jump came from.
std::uintptr_t caller_of_bad_jump(void* uctx) noexcept {
  if (uctx == nullptr) return 0;
  const auto* uc = static_cast<const ucontext_t*>(uctx);
#if defined(__x86_64__)
  return *reinterpret_cast<const std::uintptr_t*>(uc->uc_mcontext.gregs[REG_RSP]);  // pushed by the call
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.regs[30]);  // the link register
#elif defined(__arm__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.arm_lr);
#else
  (void)uc;
  return 0;
#endif
}

// One section per watched ring, its slots oldest first. The owner may be
// recording on another thread (or this one was interrupted mid-record):
// a torn slot or a stale next index is possible and acceptable; indices
// are clamped so that only the ring's own memory is read.
void write_rings(int fd) noexcept {
  for (const RingEntry& r : g_rings) {
    if (!r.used.load(std::memory_order_acquire) || r.capacity == 0 || r.stride == 0) continue;
    const std::uint64_t total = *r.total;
    const std::size_t count = total < r.capacity ? static_cast<std::size_t>(total) : r.capacity;
    const std::size_t next = *r.next % r.capacity;
    Out h{g_line, sizeof g_line};
    h.put("ring ");
    h.put(r.title);
    h.put("\nlayout ");
    h.dec(r.stride);
    h.put(' ');
    h.dec(r.capacity);
    for (std::size_t off : r.offsets) {
      h.put(' ');
      h.dec(off);
    }
    h.put("\nverdicts ");
    write_all(fd, g_line, h.len);
    write_all(fd, r.verdicts, std::strlen(r.verdicts));
    h = Out{g_line, sizeof g_line};
    h.put("\ncount ");
    h.dec(count);
    h.put(' ');
    h.dec(total);
    h.put('\n');
    write_all(fd, g_line, h.len);
    for (std::size_t i = 0; i < count; ++i) {
      const unsigned char* slot = r.base + ((next + r.capacity - count + i) % r.capacity) * r.stride;
      std::size_t len = 0;
      for (std::size_t b = 0; b < r.stride; ++b) {
        if (len + 2 > sizeof g_copy) {
          write_all(fd, g_copy, len);
          len = 0;
        }
        g_copy[len++] = "0123456789abcdef"[slot[b] >> 4];
        g_copy[len++] = "0123456789abcdef"[slot[b] & 0xf];
      }
      write_all(fd, g_copy, len);
      write_all(fd, "\n", 1);
    }
  }
  write_all(fd, "end rings\n", 10);
}

// Writes the whole dump: the header and the maps first, so that they are on
// disk even if unwinding the stack faults; the frames last. `bad_jump`: the
// pc itself faulted (see caller_of_bad_jump).
void write_dump(const char* cause, std::uintptr_t pc, bool bad_jump, void* uctx) noexcept {
  timespec now{}, mono{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  const long pid = static_cast<long>(::getpid());
  const long tid = static_cast<long>(::syscall(SYS_gettid));

  char path[1200];
  Out p{path, sizeof path};
  p.put(g_dir);
  p.put('/');
  put_time(p, now.tv_sec, true);
  p.put('-');
  p.dec(static_cast<unsigned long long>(pid));
  p.put(".dump");
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;

  Out h{g_line, sizeof g_line};
  h.put("weft crash dump 1\ntime ");
  put_time(h, now.tv_sec, false);
  h.put("\npid ");
  h.dec(static_cast<unsigned long long>(pid));
  h.put("\ncause ");
  write_all(fd, g_line, h.len);
  write_all(fd, cause, std::strlen(cause));
  h = Out{g_line, sizeof g_line};
  h.put("\npc ");
  h.hex(pc);
  h.put("\nservice ");
  h.put(running_service());
  h.put("\nthread ");
  h.dec(static_cast<unsigned long long>(tid));
  const LoopBeacon* beacon = g_beacon.load(std::memory_order_acquire);
  h.put(beacon != nullptr && beacon->loop_tid.load(std::memory_order_relaxed) == tid ? " loop" : " other");
  h.put("\nmono ");
  h.dec(static_cast<unsigned long long>(mono.tv_sec) * 1000000000ULL + static_cast<unsigned long long>(mono.tv_nsec));
  h.put("\nmaps\n");
  write_all(fd, g_line, h.len);
  const int maps = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (maps >= 0) {
    for (;;) {
      const ssize_t n = ::read(maps, g_copy, sizeof g_copy);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      write_all(fd, g_copy, static_cast<std::size_t>(n));
    }
    ::close(maps);
  }
  ::fsync(fd);
  write_rings(fd);
  ::fsync(fd);

  std::size_t frames = 0;
  if (bad_jump) {
    g_frames[frames++] = reinterpret_cast<void*>(pc);
    if (const std::uintptr_t caller = caller_of_bad_jump(uctx)) g_frames[frames++] = reinterpret_cast<void*>(caller);
  } else {
    frames = boost::stacktrace::safe_dump_to(0, g_frames, sizeof g_frames);
  }
  h = Out{g_line, sizeof g_line};
  h.put("frames ");
  h.dec(frames);
  h.put('\n');
  write_all(fd, g_line, h.len);
  for (std::size_t i = 0; i < frames; ++i) {
    h = Out{g_line, sizeof g_line};
    h.hex(reinterpret_cast<std::uintptr_t>(g_frames[i]));
    h.put('\n');
    write_all(fd, g_line, h.len);
  }
  ::fsync(fd);
  ::close(fd);
}

void on_fatal_signal(int signo, siginfo_t* info, void* uctx) {
  const int saved_errno = errno;
  if (!g_dumping.exchange(true)) {
    char cause[128];
    Out c{cause, sizeof cause};
    c.put(signal_name(signo));
    if (signo != SIGABRT && info != nullptr) {
      c.put(" (fault address ");
      c.hex(reinterpret_cast<std::uintptr_t>(info->si_addr));
      c.put(')');
    }
    const std::uintptr_t pc = fault_pc(uctx);
    const bool bad_jump = pc != 0 && info != nullptr && reinterpret_cast<std::uintptr_t>(info->si_addr) == pc;
    write_dump(cause, pc, bad_jump, uctx);
  }
  errno = saved_errno;
  // SA_RESETHAND restored the default action; the signal is blocked while
  // we run, so this one is delivered (and kills) as soon as we return.
  ::raise(signo);
}

// Normal context (not a signal): may allocate.
void on_terminate() {
  if (!g_dumping.exchange(true)) {
    std::string cause = "std::terminate";
    if (std::exception_ptr e = std::current_exception()) {
      cause = "uncaught exception";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        int status = 0;
        char* type = abi::__cxa_demangle(typeid(ex).name(), nullptr, nullptr, &status);
        cause += std::string(" ") + (status == 0 && type ? type : typeid(ex).name()) + ": " + ex.what();
        std::free(type);
      } catch (...) {
        cause += " (not derived from std::exception)";
      }
    }
    for (char& ch : cause)
      if (ch == '\n') ch = ' ';
    write_dump(cause.c_str(), 0, false, nullptr);
  }
  ::signal(SIGABRT, SIG_DFL);  // no second dump from abort()
  std::abort();
}

}  // namespace

std::string install_crash_handlers(const std::string& crash_dir) {
  if (crash_dir.size() + 1 > sizeof g_dir)
    throw std::invalid_argument("crash dir path too long (" + std::to_string(crash_dir.size()) + " bytes): " + crash_dir);
  std::error_code ec;  // a full disk: the handlers go in all the same
  std::filesystem::create_directories(crash_dir, ec);
  std::memcpy(g_dir, crash_dir.c_str(), crash_dir.size() + 1);

  stack_t alt{};
  alt.ss_sp = g_alt_stack;
  alt.ss_size = sizeof g_alt_stack;
  std::string error = ec ? "cannot create " + crash_dir + ": " + ec.message() : std::string();
  if (::sigaltstack(&alt, nullptr) != 0)  // then a stack overflow on this thread dies unreported
    error += std::string(error.empty() ? "" : "; ") + "no alternate signal stack: " + std::strerror(errno);
  // Every call takes the fatal signals again: whoever installed a handler
  // since (a test framework, a library) would otherwise swallow the crash.
  std::set_terminate(on_terminate);
  struct sigaction sa {};
  sa.sa_sigaction = on_fatal_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  ::sigemptyset(&sa.sa_mask);
  for (int signo : kFatalSignals) ::sigaction(signo, &sa, nullptr);
  return error;
}

void set_loop(const LoopBeacon* beacon, const std::vector<std::pair<const ServiceStats*, std::string>>& names) {
  g_name_count.store(0, std::memory_order_release);
  g_beacon.store(beacon, std::memory_order_release);
  std::size_t n = 0;
  for (const auto& [stats, name] : names) {
    if (n == kMaxNames) break;
    g_names[n].stats = stats;
    const std::size_t len = std::min(name.size(), kNameLen - 1);
    std::memcpy(g_names[n].name, name.data(), len);
    g_names[n].name[len] = '\0';
    ++n;
  }
  g_name_count.store(n, std::memory_order_release);
}

RingHandle watch_ring(const std::string& title, const void* base, const RingLayout& layout,
                      const std::size_t* next_index, const std::uint64_t* total) {
  const std::lock_guard lock(g_rings_mutex);
  for (std::size_t i = 0; i < kMaxRings; ++i) {
    RingEntry& r = g_rings[i];
    if (r.used.load(std::memory_order_relaxed)) continue;
    r.base = static_cast<const unsigned char*>(base);
    r.next = next_index;
    r.total = total;
    r.stride = layout.stride;
    r.capacity = layout.capacity;
    const std::size_t offsets[6] = {layout.mono_ns, layout.direction, layout.verdict,
                                    layout.length,  layout.kept,      layout.bytes};
    std::copy(std::begin(offsets), std::end(offsets), r.offsets);
    auto copy_text = [](char* to, std::size_t cap, const std::string& from) {
      std::size_t n = 0;
      for (char c : from) {
        if (n + 1 == cap) break;
        to[n++] = c == '\n' ? ' ' : c;  // one line in the dump
      }
      to[n] = '\0';
    };
    copy_text(r.title, sizeof r.title, title);
    copy_text(r.verdicts, sizeof r.verdicts, layout.verdicts);
    r.used.store(true, std::memory_order_release);
    return RingHandle(static_cast<int>(i));
  }
  return {};
}

RingHandle& RingHandle::operator=(RingHandle&& o) noexcept {
  if (this != &o) {
    RingHandle old(slot_);  // unregisters ours
    slot_ = o.slot_;
    o.slot_ = -1;
  }
  return *this;
}

RingHandle::~RingHandle() {
  if (slot_ < 0) return;
  const std::lock_guard lock(g_rings_mutex);
  g_rings[slot_].used.store(false, std::memory_order_release);
}

}  // namespace weft::crash
