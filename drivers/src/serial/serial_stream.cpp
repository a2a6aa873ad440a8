// SerialStream: reads when the tty has input, writes through the
// stream_descriptor, both with the type-erased handler (which carries the
// caller's cancellation slot), and closes in the order exclusion needs: the
// lock file first (while the fd still proves we hold the device, so nobody
// judges it stale), then the fd.
//
// Why a read waits for input first (ReadWhenReady) instead of Asio's
// speculative read: Linux's n_tty_read, finding no input, waits for the
// tty's pending flip-buffer work (flush_work on a kworker) before it
// returns EAGAIN, O_NONBLOCK or not. When the device's reply is in flight,
// that wait is as long as the kworker takes to be scheduled: 2-6 ms of the
// loop thread asleep inside one gather slice on a busy 2-core box (perf
// sched: n_tty_read <- __flush_work), every other service late behind it.
// Input the line discipline already holds (FIONREAD > 0, or the reactor
// saw the fd readable) is read without that wait.
#include "weft/drivers/serial/serial_stream.hpp"

#include <sys/ioctl.h>
#include <termios.h>

#include <cerrno>
#include <utility>

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include "weft/drivers/serial/os_seam.hpp"

namespace weft::serial {
namespace {

// One read_some: read() only when the line discipline holds input; else
// wait until the reactor sees the fd readable (edge-triggered: a new edge
// comes only with new input, so the "none held" check must come first),
// then read. Never completes inside the initiating call (held input is
// read on the next turn, as Asio's own speculative read posts its
// completion). EAGAIN or EINTR checks again on the next turn, so a storm of
// them cannot hold the loop.
struct ReadWhenReady {
  boost::asio::posix::stream_descriptor& descriptor;
  boost::asio::mutable_buffer buffer;
  bool check_first = true;  // else read: input is held or the fd turned readable
  bool started = false;

  template <typename Self>
  void operator()(Self& self, boost::system::error_code ec = {}) {
    if (ec) return self.complete(ec, 0);
    const bool initiating = !std::exchange(started, true);
    if (!initiating && self.get_cancellation_state().cancelled() != boost::asio::cancellation_type::none) {
      return self.complete(boost::asio::error::operation_aborted, 0);  // cancelled while posted
    }
    const int fd = descriptor.native_handle();
    if (!check_first) {
      const ssize_t n = os().read(fd, buffer.data(), buffer.size());
      if (n > 0) return self.complete({}, static_cast<std::size_t>(n));
      if (n == 0) return self.complete(boost::asio::error::eof, 0);
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return self.complete(boost::system::error_code(errno, boost::system::system_category()), 0);
      }
      check_first = true;
      return boost::asio::post(descriptor.get_executor(), std::move(self));
    }
    int held = 0;
    const bool has_input = os().ioctl(fd, FIONREAD, &held) == 0 && held > 0;
    check_first = false;
    if (has_input) return boost::asio::post(descriptor.get_executor(), std::move(self));
    descriptor.async_wait(boost::asio::posix::descriptor_base::wait_read, std::move(self));
  }
};

}  // namespace

SerialStream::SerialStream(executor_type executor, OpenPort port)
    : path_(port.path()), descriptor_(std::move(executor)) {
  boost::system::error_code ec;
  descriptor_.assign(port.fd(), ec);  // on failure `port` still owns (and closes) the fd and the lock
  if (ec) throw boost::system::system_error(ec, "port " + path_ + ": cannot register its fd with the I/O loop");
  port.release_fd();
  lock_ = port.release_lock();
}

SerialStream::~SerialStream() { close(); }

SerialStream::executor_type SerialStream::get_executor() { return descriptor_.get_executor(); }

void SerialStream::cancel() {
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
}

std::size_t SerialStream::discard_input() {
  if (!descriptor_.is_open()) return 0;
  int pending = 0;
  if (os().ioctl(descriptor_.native_handle(), FIONREAD, &pending) != 0) pending = 0;
  os().tcflush(descriptor_.native_handle(), TCIFLUSH);
  return pending > 0 ? static_cast<std::size_t>(pending) : 0;
}

void SerialStream::close() noexcept {
  lock_.release();  // first, while the fd still shows we hold the device (port_lock.cpp, rule 2)
  if (descriptor_.is_open()) {
    // release() completes pending operations with operation_aborted and
    // deregisters the fd from the reactor; close_device() then closes it.
    int fd = descriptor_.release();
    if (fd >= 0) close_device(fd);
  }
}

void SerialStream::read_some(boost::asio::mutable_buffer buffer, IoHandler handler) {
  if (buffer.size() == 0 || !descriptor_.is_open()) {
    // What stream_descriptor's read does: an empty buffer completes at once; a closed fd fails.
    descriptor_.async_read_some(buffer, std::move(handler));
    return;
  }
  boost::asio::async_compose<IoHandler, void(boost::system::error_code, std::size_t)>(
      ReadWhenReady{descriptor_, buffer}, handler, descriptor_);
}

void SerialStream::write_some(boost::asio::const_buffer buffer, IoHandler handler) {
  descriptor_.async_write_some(buffer, std::move(handler));
}

}  // namespace weft::serial
