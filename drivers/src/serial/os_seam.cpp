// The real OS call table and the override switch. The current table is an
// atomic pointer, so a lookup is one load; the variadic calls (open, ioctl)
// get fixed-signature wrappers so they fit a function pointer.
#include "weft/drivers/serial/os_seam.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <atomic>

namespace weft::serial {
namespace {

const OsCalls kRealCalls{
    .open = [](const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); },
    .close = ::close,
    .read = ::read,
    .write = ::write,
    .link = ::link,
    .unlink = ::unlink,
    .ioctl = [](int fd, unsigned long request, void* arg) { return ::ioctl(fd, request, arg); },
    .tcgetattr = ::tcgetattr,
    .tcsetattr = ::tcsetattr,
    .tcflush = ::tcflush,
    .flock = ::flock,
    .kill = ::kill,
    .getpid = ::getpid,
    .stat = [](const char* path, struct stat* st) { return ::stat(path, st); },
    .opendir = ::opendir,
};

std::atomic<const OsCalls*> g_current{&kRealCalls};

}  // namespace

const OsCalls& real_os_calls() noexcept { return kRealCalls; }

const OsCalls& os() noexcept { return *g_current.load(std::memory_order_acquire); }

ScopedOsOverride::ScopedOsOverride(const OsCalls& calls) noexcept
    : calls_(calls), previous_(g_current.exchange(&calls_, std::memory_order_acq_rel)) {}

ScopedOsOverride::~ScopedOsOverride() { g_current.store(previous_, std::memory_order_release); }

}  // namespace weft::serial
