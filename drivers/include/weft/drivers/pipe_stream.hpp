// An in-memory, connected pair of ByteStreams on one executor: what a
// simulated instrument and the protocol code talk over in `--simulate`
// mode and in tests. Bytes written on one end are read on the other, in
// order. Capacity per direction is bounded (kCapacity): a write that does
// not fit fails with no_buffer_space rather than growing memory. When one
// end is destroyed, the other reads EOF and writes fail with broken_pipe.
#pragma once

#include <memory>
#include <utility>

#include "weft/drivers/byte_stream.hpp"

namespace weft {

namespace detail {
struct PipeShared;
}

class PipeEnd final : public ByteStream {
public:
  static constexpr std::size_t kCapacity = 1 << 20;

  PipeEnd(std::shared_ptr<detail::PipeShared> shared, int side, executor_type executor);
  ~PipeEnd() override;

  executor_type get_executor() override { return executor_; }
  void cancel() override;
  std::size_t discard_input() override;
  std::size_t available() const noexcept;  // bytes waiting to be read on this end

protected:
  void read_some(boost::asio::mutable_buffer buffer, IoHandler handler) override;
  void write_some(boost::asio::const_buffer buffer, IoHandler handler) override;

private:
  // Both ends share the two directions; either may be destroyed first.
  std::shared_ptr<detail::PipeShared> shared_;
  int side_;  // 0 or 1: reads direction side_, writes direction 1 - side_
  executor_type executor_;
};

std::pair<std::unique_ptr<PipeEnd>, std::unique_ptr<PipeEnd>> make_pipe(ByteStream::executor_type executor);

}  // namespace weft
