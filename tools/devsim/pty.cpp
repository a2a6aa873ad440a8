// Pseudo-terminal for the simulator: see pty.hpp.
#include "pty.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace weft::devsim {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

Pty::Pty(executor_type executor, std::string link) : master_(executor), link_(std::move(link)) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) fail("posix_openpt");
  if (::grantpt(master) != 0 || ::unlockpt(master) != 0) {
    ::close(master);
    fail("grantpt/unlockpt");
  }
  slave_path_ = ::ptsname(master);
  master_.assign(master);
  slave_fd_ = ::open(slave_path_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave_fd_ < 0) fail("open " + slave_path_);
  termios t{};
  ::tcgetattr(slave_fd_, &t);
  ::cfmakeraw(&t);
  ::tcsetattr(slave_fd_, TCSANOW, &t);
  ::unlink(link_.c_str());  // a stale link from an earlier run
  if (::symlink(slave_path_.c_str(), link_.c_str()) != 0) fail("symlink " + link_ + " -> " + slave_path_);
}

Pty::~Pty() {
  ::unlink(link_.c_str());
  if (slave_fd_ >= 0) ::close(slave_fd_);
}

std::size_t Pty::discard_input() {
  int pending = 0;
  if (::ioctl(master_.native_handle(), FIONREAD, &pending) != 0) pending = 0;
  ::tcflush(master_.native_handle(), TCIFLUSH);
  return pending > 0 ? static_cast<std::size_t>(pending) : 0;
}

void Pty::read_some(boost::asio::mutable_buffer buffer, IoHandler handler) {
  master_.async_read_some(buffer, std::move(handler));
}

void Pty::write_some(boost::asio::const_buffer buffer, IoHandler handler) {
  master_.async_write_some(buffer, std::move(handler));
}

}  // namespace weft::devsim
