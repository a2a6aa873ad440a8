// In-memory pipe. Per direction: a byte queue and at most one parked
// reader. Completions are always posted (never run inside the writer).
#include "weft/drivers/pipe_stream.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/post.hpp>

namespace weft {
namespace detail {

struct PipeDirection {
  std::deque<unsigned char> bytes;
  std::optional<ByteStream::IoHandler> reader;
  boost::asio::mutable_buffer reader_buffer;
  bool writer_gone = false;  // the end that writes here was destroyed: EOF once drained
  bool reader_gone = false;  // the end that reads here was destroyed: writes fail
};

struct PipeShared {
  PipeDirection dir[2];  // dir[i] is read by end i
};

}  // namespace detail

namespace {

// The operation is over: its cancellation slot must no longer reach us.
void complete(ByteStream::IoHandler handler, ByteStream::executor_type fallback, boost::system::error_code ec,
              std::size_t n) {
  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  if (slot.is_connected()) slot.clear();
  // Queued on the pipe's executor, then dispatched through the handler's own.
  boost::asio::post(fallback, boost::asio::append(std::move(handler), ec, n));
}

std::size_t take(detail::PipeDirection& d, boost::asio::mutable_buffer b) {
  const std::size_t n = std::min(b.size(), d.bytes.size());
  auto* out = static_cast<unsigned char*>(b.data());
  std::copy_n(d.bytes.begin(), n, out);
  d.bytes.erase(d.bytes.begin(), d.bytes.begin() + static_cast<std::ptrdiff_t>(n));
  return n;
}

}  // namespace

PipeEnd::PipeEnd(std::shared_ptr<detail::PipeShared> shared, int side, executor_type executor)
    : shared_(std::move(shared)), side_(side), executor_(std::move(executor)) {}

PipeEnd::~PipeEnd() {
  cancel();
  shared_->dir[side_].reader_gone = true;
  detail::PipeDirection& out = shared_->dir[1 - side_];
  out.writer_gone = true;
  if (out.reader && out.bytes.empty()) {  // the peer is waiting: it sees EOF
    auto h = std::move(*out.reader);
    out.reader.reset();
    complete(std::move(h), executor_, boost::asio::error::eof, 0);
  }
}

void PipeEnd::cancel() {
  detail::PipeDirection& in = shared_->dir[side_];
  if (!in.reader) return;
  auto h = std::move(*in.reader);
  in.reader.reset();
  complete(std::move(h), executor_, boost::asio::error::operation_aborted, 0);
}

std::size_t PipeEnd::discard_input() {
  const std::size_t n = shared_->dir[side_].bytes.size();
  shared_->dir[side_].bytes.clear();
  return n;
}

std::size_t PipeEnd::available() const noexcept { return shared_->dir[side_].bytes.size(); }

void PipeEnd::read_some(boost::asio::mutable_buffer buffer, IoHandler handler) {
  detail::PipeDirection& in = shared_->dir[side_];
  if (in.reader) {
    complete(std::move(handler), executor_, boost::asio::error::in_progress, 0);
    return;
  }
  if (buffer.size() == 0) return complete(std::move(handler), executor_, {}, 0);
  if (!in.bytes.empty()) return complete(std::move(handler), executor_, {}, take(in, buffer));
  if (in.writer_gone) return complete(std::move(handler), executor_, boost::asio::error::eof, 0);

  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  in.reader_buffer = buffer;
  in.reader.emplace(std::move(handler));
  if (slot.is_connected()) {
    slot.assign([this](boost::asio::cancellation_type type) {
      if (type != boost::asio::cancellation_type::none) cancel();
    });
  }
}

void PipeEnd::write_some(boost::asio::const_buffer buffer, IoHandler handler) {
  detail::PipeDirection& out = shared_->dir[1 - side_];
  if (out.reader_gone) return complete(std::move(handler), executor_, boost::asio::error::broken_pipe, 0);
  if (out.bytes.size() + buffer.size() > kCapacity)
    return complete(std::move(handler), executor_, boost::asio::error::no_buffer_space, 0);
  const auto* p = static_cast<const unsigned char*>(buffer.data());
  out.bytes.insert(out.bytes.end(), p, p + buffer.size());
  if (out.reader) {
    auto h = std::move(*out.reader);
    out.reader.reset();
    const std::size_t n = take(out, out.reader_buffer);
    complete(std::move(h), executor_, {}, n);
  }
  complete(std::move(handler), executor_, {}, buffer.size());
}

std::pair<std::unique_ptr<PipeEnd>, std::unique_ptr<PipeEnd>> make_pipe(ByteStream::executor_type executor) {
  auto shared = std::make_shared<detail::PipeShared>();
  return {std::make_unique<PipeEnd>(shared, 0, executor), std::make_unique<PipeEnd>(shared, 1, executor)};
}

}  // namespace weft
