// Launching a C++20-coroutine service: one co_spawn per run on the service
// executor, its completion (and exception) owned by the supervisor.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>

#include "weft/core/context.hpp"
#include "weft/core/service.hpp"

namespace weft {

ServiceSpec coroutine_service(std::string name, std::vector<std::string> needs, RestartPolicy policy,
                              CoroutineMain main) {
  Launcher launch = [main = std::move(main)](Launch l) {
    boost::asio::co_spawn(l.executor, main(l.ctx),
                          boost::asio::bind_cancellation_slot(
                              l.cancel, [on_exit = std::move(l.on_exit)](std::exception_ptr e) { on_exit(e); }));
  };
  return ServiceSpec{std::move(name), std::move(needs), policy, std::move(launch)};
}

}  // namespace weft
