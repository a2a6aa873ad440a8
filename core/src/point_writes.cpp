// Point writes (point_writes.hpp): the registry and the asker's bounded wait.
#include "weft/core/point_writes.hpp"

#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace weft {

void PendingWrite::complete(WriteOutcome outcome) {
  if (outcome_) return;
  outcome_ = std::move(outcome);
  if (wake_) wake_();
}

boost::asio::awaitable<WriteOutcome> PendingWrite::wait(Duration timeout) {
  namespace asio = boost::asio;
  if (outcome_) co_return *outcome_;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(timeout);
  // Cleared however this frame ends, so a late complete() never touches the timer.
  struct Unhook {
    std::function<void()>& wake;
    ~Unhook() { wake = nullptr; }
  } unhook{wake_};
  wake_ = [&timer] { timer.cancel(); };
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (outcome_) co_return *outcome_;
  abandoned_ = true;
  if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "point write wait");
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  co_return WriteOutcome{false, "no answer from the owner of " + point_ + " within " + std::to_string(ms) +
                                    " ms (the write may still reach the device)"};
}

PointWrites::Registration& PointWrites::Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = other.owner_;
    point_ = std::move(other.point_);
    other.owner_ = nullptr;
  }
  return *this;
}

void PointWrites::Registration::reset() noexcept {
  if (owner_ != nullptr && owner_->writers_.erase(point_) != 0) ++owner_->changes_;
  owner_ = nullptr;
}

PointWrites::Registration PointWrites::add(std::string point, PointWriter& writer) {
  if (!writers_.emplace(point, &writer).second)
    throw std::logic_error("point " + point + " already has a writer; one owner per writable point");
  ++changes_;
  return Registration(this, std::move(point));
}

PointWriter* PointWrites::find(std::string_view point) const noexcept {
  const auto it = writers_.find(point);
  return it == writers_.end() ? nullptr : it->second;
}

}  // namespace weft
