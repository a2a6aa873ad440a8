// The service executor: an adaptor around the loop's executor through which
// every handler of one service runs, so the runtime knows which service is
// running now and charges it loop time, slices and allocations
// (SliceScope). It is a standard executor: co_spawn accepts it, and every
// resumption of a coroutine spawned on it passes through execute().
// It forwards every property query/require/prefer to the inner executor.
#pragma once

#include <type_traits>
#include <utility>

#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>

#include "weft/core/service_stats.hpp"

namespace weft {

template <typename Inner>
class BasicServiceExecutor {
public:
  BasicServiceExecutor(Inner inner, ServiceStats* stats) noexcept
      : inner_(std::move(inner)), stats_(stats) {}

  template <typename Function>
  void execute(Function&& f) const {
    inner_.execute([stats = stats_, f = std::forward<Function>(f)]() mutable {
      SliceScope slice(stats);
      std::move(f)();
    });
  }

  template <typename Property>
  auto query(const Property& p) const noexcept(noexcept(boost::asio::query(std::declval<const Inner&>(), p)))
      -> decltype(boost::asio::query(std::declval<const Inner&>(), p)) {
    return boost::asio::query(inner_, p);
  }

  template <typename Property>
  auto require(const Property& p) const
      -> BasicServiceExecutor<std::decay_t<decltype(boost::asio::require(std::declval<const Inner&>(), p))>> {
    return {boost::asio::require(inner_, p), stats_};
  }

  template <typename Property>
  auto prefer(const Property& p) const
      -> BasicServiceExecutor<std::decay_t<decltype(boost::asio::prefer(std::declval<const Inner&>(), p))>> {
    return {boost::asio::prefer(inner_, p), stats_};
  }

  friend bool operator==(const BasicServiceExecutor& a, const BasicServiceExecutor& b) noexcept {
    return a.inner_ == b.inner_ && a.stats_ == b.stats_;
  }
  friend bool operator!=(const BasicServiceExecutor& a, const BasicServiceExecutor& b) noexcept {
    return !(a == b);
  }

  const Inner& inner() const noexcept { return inner_; }
  ServiceStats* stats() const noexcept { return stats_; }

private:
  Inner inner_;
  ServiceStats* stats_;
};

using ServiceExecutor = BasicServiceExecutor<boost::asio::io_context::executor_type>;

}  // namespace weft
