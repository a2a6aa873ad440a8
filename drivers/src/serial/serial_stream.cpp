// SerialStream: forwards reads and writes to the stream_descriptor with the
// type-erased handler (which carries the caller's cancellation slot), and
// closes in the order exclusion needs: the lock file first (while the fd
// still proves we hold the device, so nobody judges it stale), then the fd.
#include "weft/drivers/serial/serial_stream.hpp"

#include <sys/ioctl.h>
#include <termios.h>

#include <utility>

#include <boost/system/system_error.hpp>

#include "weft/drivers/serial/os_seam.hpp"

namespace weft::serial {

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
  descriptor_.async_read_some(buffer, std::move(handler));
}

void SerialStream::write_some(boost::asio::const_buffer buffer, IoHandler handler) {
  descriptor_.async_write_some(buffer, std::move(handler));
}

}  // namespace weft::serial
