// One port, one owner: open with backoff, serve until the stream fails,
// open again. Only state changes are logged (`closed -> open`,
// `open -> absent: <reason>`), never each retry.
#include "weft/apps/gather/port_owner.hpp"

#include <spdlog/spdlog.h>

namespace weft::apps {

PortOwner::PortOwner(Context& ctx, const PortConfig& port, std::unique_ptr<PortBinding> binding)
    : ctx_(ctx),
      port_(port),
      crash_ring_(recorder_.watch_for_crashes("serial " + port.name)),
      binding_(std::move(binding)),
      reconnect_(port.reconnect) {
  if (!crash_ring_)
    ctx_.log().warn("port {}: its flight recorder is not in crash reports (more than {} ports)", port_.name,
                    crash::kMaxRings);
}

PortOwner::~PortOwner() = default;

boost::asio::awaitable<void> PortOwner::run(std::function<void()> on_first_attempt) {
  for (;;) {
    std::unique_ptr<ByteStream> stream = co_await open_port(on_first_attempt);
    if (port_.pause_after_open > Duration::zero()) co_await ctx_.sleep(port_.pause_after_open);
    co_await serve(*stream);
  }
}

// Tries until the port opens.
boost::asio::awaitable<std::unique_ptr<ByteStream>> PortOwner::open_port(std::function<void()>& on_first_attempt) {
  for (;;) {
    if (const Duration delay = reconnect_.next_delay(); delay > Duration::zero()) co_await ctx_.sleep(delay);
    OpenedPort opened = co_await binding_->open(ctx_);
    const auto transition = opened.stream ? reconnect_.on_open_ok() : reconnect_.on_open_failed(*opened.error);
    if (transition) {
      if (opened.stream) ctx_.log().info("port {} ({}): {}", port_.name, port_.settings.path, transition->describe());
      else ctx_.log().error("port {} ({}): {}", port_.name, port_.settings.path, transition->describe());
    }
    if (on_first_attempt) std::exchange(on_first_attempt, nullptr)();
    if (opened.stream) co_return std::move(opened.stream);
    on_open_failed(opened.error->message, transition.has_value());
  }
}

void PortOwner::report_io_error(boost::system::error_code error) {
  if (auto t = reconnect_.on_io_error(error))
    ctx_.log().error("port {} ({}): {}", port_.name, port_.settings.path, t->describe());
}

}  // namespace weft::apps
