// ByteStream: the one interface every protocol is written against — an
// Asio AsyncReadStream/AsyncWriteStream, type-erased at this edge so that
// protocol code is compiled once and runs unchanged over a tty, a pty or an
// in-memory pipe. Implementations must honour per-operation cancellation
// (so `op || timer` completes when the timer wins) and cancel().
#pragma once

#include <cstddef>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>

namespace weft {

class ByteStream {
public:
  using executor_type = boost::asio::any_io_executor;
  using IoHandler = boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

  virtual ~ByteStream();
  virtual executor_type get_executor() = 0;

  // Cancels every pending operation (they complete with operation_aborted).
  virtual void cancel() = 0;
  // Discards bytes received but not yet read (tcflush(TCIFLUSH) on a tty)
  // and says how many it dropped (as far as the OS can tell: FIONREAD just
  // before the flush), so a Modbus master can count them as line activity.
  virtual std::size_t discard_input() = 0;

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](IoHandler h, boost::asio::mutable_buffer b) { read_some(b, std::move(h)); }, token,
        first_buffer(buffers));
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](IoHandler h, boost::asio::const_buffer b) { write_some(b, std::move(h)); }, token,
        first_const_buffer(buffers));
  }

protected:
  virtual void read_some(boost::asio::mutable_buffer buffer, IoHandler handler) = 0;
  virtual void write_some(boost::asio::const_buffer buffer, IoHandler handler) = 0;

private:
  template <typename B>
  static boost::asio::mutable_buffer first_buffer(const B& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (boost::asio::mutable_buffer b(*it); b.size() > 0) return b;
    return {};
  }
  template <typename B>
  static boost::asio::const_buffer first_const_buffer(const B& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (boost::asio::const_buffer b(*it); b.size() > 0) return b;
    return {};
  }
};

}  // namespace weft
