// A pseudo-terminal whose slave side is published under a stable path (a
// symlink), so weftd, minicom or libmodbus open it like a serial adapter;
// the master side is a ByteStream for the simulated devices. The simulator
// keeps a slave fd open itself, so a client closing the port does not turn
// every later read on the master into EIO.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "weft/drivers/byte_stream.hpp"

namespace weft::devsim {

class Pty final : public ByteStream {
public:
  // Creates the pty and the symlink `link` -> /dev/pts/N (replacing a stale
  // link). Throws std::runtime_error naming the path and the errno text.
  Pty(executor_type executor, std::string link);
  ~Pty() override;  // removes the link

  executor_type get_executor() override { return master_.get_executor(); }
  void cancel() override { master_.cancel(); }
  std::size_t discard_input() override;
  const std::string& slave_path() const noexcept { return slave_path_; }

protected:
  void read_some(boost::asio::mutable_buffer buffer, IoHandler handler) override;
  void write_some(boost::asio::const_buffer buffer, IoHandler handler) override;

private:
  boost::asio::posix::stream_descriptor master_;
  int slave_fd_ = -1;
  std::string slave_path_;
  std::string link_;
};

}  // namespace weft::devsim
