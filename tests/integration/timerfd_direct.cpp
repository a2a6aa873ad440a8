// LD_PRELOAD shim for the clock-warp test: timerfd_settime() goes straight
// to the kernel. libfaketime (0.9.10) wraps timerfd_settime and shifts an
// absolute expiry by its fake wall-clock offset whatever the timer's clock:
// Asio arms its CLOCK_MONOTONIC timerfd with TFD_TIMER_ABSTIME at 1 ns when
// a timer is already due, and with the wall clock a day ahead that became
// an expiry the kernel refused, so the loop slept in epoll_wait(-1) with a
// due timer until the stall monitor called it a hang (integration.clock_warp
// failed so about 1 run in 6 under ASan, rarely without). A real clock step
// never touches a monotonic timer, which is what this shim restores; the
// wall clock the test warps is still libfaketime's. Must come before
// libfaketime in LD_PRELOAD.
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

extern "C" int timerfd_settime(int fd, int flags, const struct itimerspec* new_value, struct itimerspec* old_value) {
  return static_cast<int>(::syscall(SYS_timerfd_settime, fd, flags, new_value, old_value));
}
