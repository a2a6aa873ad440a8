// SerialStream: weft::ByteStream over a port from open_exclusive(), via an
// Asio posix::stream_descriptor, so operations honour per-operation
// cancellation and cancel(). Device errors (EIO, ENODEV, EBADF, end of file
// when the device vanishes) complete the pending operation with that code;
// reopening is the owner's decision. Loop thread only.
#pragma once

#include <string>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "weft/drivers/byte_stream.hpp"
#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/port_lock.hpp"

namespace weft::serial {

class SerialStream final : public weft::ByteStream {
public:
  // Takes over `port` (its fd and its lock). Throws boost::system::system_error
  // if the fd cannot be registered with the reactor (then `port` closes it).
  SerialStream(executor_type executor, OpenPort port);
  ~SerialStream() override;
  SerialStream(const SerialStream&) = delete;
  SerialStream& operator=(const SerialStream&) = delete;

  executor_type get_executor() override;
  void cancel() override;
  // tcflush(TCIFLUSH); a no-op once closed. Errors are ignored: a vanished
  // device shows up as an error on the next read.
  std::size_t discard_input() override;

  // Removes the lock file, completes pending operations with
  // operation_aborted and closes the fd. Idempotent; the destructor calls it.
  void close() noexcept;
  bool is_open() const noexcept { return descriptor_.is_open(); }
  const std::string& path() const noexcept { return path_; }
  // The fd (for tcgetattr and the like), -1 once closed.
  int native_handle() noexcept { return descriptor_.is_open() ? descriptor_.native_handle() : -1; }

protected:
  void read_some(boost::asio::mutable_buffer buffer, IoHandler handler) override;
  void write_some(boost::asio::const_buffer buffer, IoHandler handler) override;

private:
  std::string path_;
  boost::asio::posix::stream_descriptor descriptor_;
  PortLock lock_;
};

}  // namespace weft::serial
