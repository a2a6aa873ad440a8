// The command registry (commands.hpp). Invariants:
//  1. every name in entries_ is registered by exactly one live
//     CommandRegistration (matched by id);
//  2. every node in waiters_ is a call in progress watching a registered id;
//     removing that id completes the node (operation_aborted, posted).
#include "weft/core/commands.hpp"

#include <algorithm>
#include <stdexcept>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "parked_op.hpp"

namespace weft {
namespace {

bool valid_word(std::string_view w) {
  return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// One or two words of [a-z0-9_-], separated by one space.
bool valid_name(std::string_view name) {
  const auto space = name.find(' ');
  if (space == std::string_view::npos) return valid_word(name);
  return valid_word(name.substr(0, space)) && valid_word(name.substr(space + 1));
}

template <typename Token>
auto async_wait_revoked(Commands& commands, std::vector<CommandRevocationWaiter*>& waiters, std::uint64_t id,
                        boost::asio::any_io_executor ex, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
      [&commands, &waiters, id](auto handler, boost::asio::any_io_executor fallback) {
        using Op = detail::ParkedOp<CommandRevocationWaiter, Commands, decltype(handler), boost::asio::any_io_executor>;
        CommandRevocationWaiter& node = Op::park(commands, std::move(handler), std::move(fallback));
        node.id = id;
        waiters.push_back(&node);
      },
      token, std::move(ex));
}

// A handler that throws is a failed reply, not a lost call: the race in
// Commands::run waits for the first branch that *succeeds*.
template <typename Call>
boost::asio::awaitable<CommandReply> guarded(Call call) {
  try {
    co_return co_await call();
  } catch (const std::exception& e) {
    co_return CommandReply{false, std::string("error: ") + e.what() + "\n", {}};
  }
}

}  // namespace

CommandRegistration::CommandRegistration(CommandRegistration&& o) noexcept
    : commands_(std::exchange(o.commands_, nullptr)), id_(o.id_) {}

CommandRegistration& CommandRegistration::operator=(CommandRegistration&& o) noexcept {
  if (this != &o) {
    reset();
    commands_ = std::exchange(o.commands_, nullptr);
    id_ = o.id_;
  }
  return *this;
}

CommandRegistration::~CommandRegistration() { reset(); }

void CommandRegistration::reset() noexcept {
  if (Commands* c = std::exchange(commands_, nullptr)) c->remove(id_);
}

Commands::Commands(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

Commands::~Commands() { abandon_waiters(); }

CommandRegistration Commands::add(Command command, std::string owner) {
  if (!valid_name(command.name))
    throw std::invalid_argument("console command '" + command.name +
                                "': a name is one or two words of a-z, 0-9, '-' or '_'");
  if (!command.handler && !command.stream)
    throw std::invalid_argument("console command '" + command.name + "' has neither a handler nor a stream");
  if (command.usage.empty()) command.usage = command.name;
  auto it = entries_.find(command.name);
  if (it != entries_.end()) {
    if (it->second.owner != owner)
      throw std::invalid_argument("console command '" + command.name + "' is already registered by '" +
                                  it->second.owner + "'");
    remove(it->second.id);  // an abandoned run of the same service: the newer one wins
  }
  const std::uint64_t id = next_id_++;
  std::string name = command.name;
  entries_.emplace(std::move(name), Entry{std::move(command), std::move(owner), id});
  return CommandRegistration(this, id);
}

void Commands::remove(std::uint64_t id) noexcept {
  auto it = std::find_if(entries_.begin(), entries_.end(), [id](const auto& e) { return e.second.id == id; });
  if (it == entries_.end()) return;  // already replaced by a newer registration of the same owner
  entries_.erase(it);
  // Calls in progress end at their current await (posted, never inline).
  std::vector<CommandRevocationWaiter*> gone;
  std::erase_if(waiters_, [&](CommandRevocationWaiter* w) {
    if (w->id != id) return false;
    gone.push_back(w);
    return true;
  });
  for (auto* w : gone) w->on_abandon(*w);
}

bool Commands::registered(std::uint64_t id) const noexcept {
  return std::any_of(entries_.begin(), entries_.end(), [id](const auto& e) { return e.second.id == id; });
}

bool Commands::cancel(CommandRevocationWaiter& w) noexcept {
  auto it = std::find(waiters_.begin(), waiters_.end(), &w);
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  return true;
}

void Commands::abandon_waiters() noexcept {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto* w : waiters) w->on_abandon(*w);
}

const Command* Commands::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second.command;
}

const Command* Commands::lookup(const std::vector<std::string>& words, std::size_t* consumed) const {
  if (words.empty()) return nullptr;
  if (words.size() >= 2)
    if (const Command* two = find(words[0] + " " + words[1])) {
      if (consumed) *consumed = 2;
      return two;
    }
  const Command* one = find(words[0]);
  if (one && consumed) *consumed = 1;
  return one;
}

std::vector<CommandInfo> Commands::list() const {
  std::vector<CommandInfo> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(CommandInfo{&e.command, e.owner});
  return out;
}

// Completes (normally) when registration `id` is removed; cancel-safe.
boost::asio::awaitable<void> Commands::revoked(std::uint64_t id) {
  if (!registered(id)) co_return;
  co_await async_wait_revoked(*this, waiters_, id, co_await boost::asio::this_coro::executor,
                              boost::asio::as_tuple(boost::asio::use_awaitable));
}

boost::asio::awaitable<CommandReply> Commands::run(std::string_view name, const CommandArgs& args,
                                                   CommandOutput* out) {
  using namespace boost::asio::experimental::awaitable_operators;
  auto it = entries_.find(name);
  if (it == entries_.end()) co_return CommandReply{false, "unknown command '" + std::string(name) + "'\n", {}};
  const std::uint64_t id = it->second.id;
  // Copies: the handler's captures must outlive this call even if its
  // registration goes away meanwhile.
  const Command command = it->second.command;
  std::variant<CommandReply, std::monostate> result;
  if (command.stream) {
    if (out == nullptr) throw std::logic_error("console command '" + command.name + "' streams: it needs an output");
    result = co_await (guarded([&] { return command.stream(args, *out); }) || revoked(id));
  } else {
    result = co_await (guarded([&] { return command.handler(args); }) || revoked(id));
  }
  if (result.index() == 1)
    throw boost::system::system_error(boost::asio::error::operation_aborted,
                                      "console command '" + command.name + "' was removed (its service stopped)");
  co_return std::get<0>(std::move(result));
}

}  // namespace weft
