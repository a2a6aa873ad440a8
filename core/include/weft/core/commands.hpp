// The console's command registry: the core and every service register
// commands here (a name, a usage line, one help line, a handler), and the
// console service looks them up and runs them for its clients. Loop thread
// only. A registration is an RAII handle: a service keeps it in its run()
// frame, so its commands disappear when that run ends and a restarted
// service registers them again.
//
//   CommandRegistration frames = ctx.add_command({
//       .name = "frames", .usage = "frames [PORT]", .help = "last Modbus frames of a bus",
//       .handler = [&](const CommandArgs& args) -> boost::asio::awaitable<CommandReply> {
//         co_return CommandReply{.text = render_frames(args)};
//       }});
//
// Replies. A handler returns one CommandReply: `text` for people (lines
// ending in '\n'), and optionally `json` (one JSON value) for machines; if
// `json` is empty the console wraps `text` as {"ok":..,"text":".."}.
// ok = false means the command failed (weftctl --exec exits 1); a bad
// argument is a failed reply whose text says what is wrong and the usage.
//
// Streaming replies (`log tail` live). A command that keeps sending sets
// `stream` instead of (or besides) `handler`; it gets a CommandOutput and
// calls write() once per chunk (text: whole lines; JSON mode: one JSON value
// per chunk). write() never blocks: it queues into the client's bounded
// output buffer and returns false once the client is gone or too slow (its
// buffer is full); the handler should then return. The stream also ends
// when the client sends another line or hangs up: the console cancels the
// handler (terminal cancellation), so its awaits must honour cancellation.
// The CommandReply it returns is the stream's last frame.
//
// Lifetime hazard: a handler runs in the console's coroutine but may refer
// to its service's state. When a registration is destroyed (its service run
// ended) every call of that command still in progress is cancelled at its
// current await (Commands::run races it with the registration's end), and
// the console holds a copy of the handler, so a lambda's captures outlive
// the call. A handler must not touch its service's state after an await
// that may have been cancelled (that await throws, which is the natural way).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "weft/core/command_line.hpp"  // split_command_line, for the console

namespace weft {

struct CommandReply {
  bool ok = true;
  std::string text;  // for people; lines end in '\n'
  std::string json;  // one JSON value; empty: the console wraps text
};

using CommandArgs = std::vector<std::string>;  // the words after the command name

// The console's side of a streaming reply (one per client call).
class CommandOutput {
public:
  virtual ~CommandOutput() = default;
  // Queues one chunk. Never blocks. false: the client is gone or its output
  // buffer is full (it will be dropped); the handler should return.
  virtual bool write(std::string_view chunk) = 0;
  // The client asked for JSON: chunks should be JSON values.
  virtual bool json() const noexcept = 0;
};

using CommandHandler = std::function<boost::asio::awaitable<CommandReply>(const CommandArgs&)>;
using StreamHandler = std::function<boost::asio::awaitable<CommandReply>(const CommandArgs&, CommandOutput&)>;

struct Command {
  std::string name;   // one word, or two for sub-commands ("log tail"): the longest match wins
  std::string usage;  // "service NAME"
  std::string help;   // one line
  CommandHandler handler;
  // Candidates for tab completion of the arguments (service names, point
  // names...); called on the loop thread; may be empty.
  std::function<std::vector<std::string>()> complete_args = {};
  StreamHandler stream = {};  // set for a streaming command (then `handler` may be empty)
};

class Commands;

// Intrusive node of a call in progress, woken when its command is removed.
struct CommandRevocationWaiter {
  static constexpr bool kInlineWake = false;
  void (*on_due)(CommandRevocationWaiter&) = nullptr;
  void (*on_abandon)(CommandRevocationWaiter&) = nullptr;
  std::uint64_t id = 0;  // the registration it watches
};

// Removes its command when destroyed. Movable, not copyable.
class [[nodiscard]] CommandRegistration {
public:
  CommandRegistration() = default;
  CommandRegistration(CommandRegistration&& o) noexcept;
  CommandRegistration& operator=(CommandRegistration&& o) noexcept;
  ~CommandRegistration();
  CommandRegistration(const CommandRegistration&) = delete;
  CommandRegistration& operator=(const CommandRegistration&) = delete;

  void reset() noexcept;  // unregisters now
  bool active() const noexcept { return commands_ != nullptr; }

private:
  friend class Commands;
  CommandRegistration(Commands* commands, std::uint64_t id) noexcept : commands_(commands), id_(id) {}
  Commands* commands_ = nullptr;
  std::uint64_t id_ = 0;
};

// A command as the console sees it: what it is and who registered it.
struct CommandInfo {
  const Command* command;
  std::string owner;  // "weft" (the core) or the registering service
};

class Commands {
public:
  // `executor`: the loop's; calls in progress wait on it for their registration's end.
  explicit Commands(boost::asio::any_io_executor executor);
  ~Commands();
  Commands(const Commands&) = delete;
  Commands& operator=(const Commands&) = delete;

  // Throws std::invalid_argument for an empty or malformed name, a command
  // with neither handler nor stream, or a name another owner has registered.
  // The same owner registering a name again (a restarted service whose old
  // run was abandoned) replaces the old entry.
  CommandRegistration add(Command command, std::string owner = "weft");

  // The longest registered name that prefixes `words` (one or two words);
  // `consumed` says how many words it took. Null when none matches.
  const Command* lookup(const std::vector<std::string>& words, std::size_t* consumed = nullptr) const;
  const Command* find(std::string_view name) const;
  std::vector<CommandInfo> list() const;  // sorted by name
  std::size_t size() const noexcept { return entries_.size(); }

  // Runs `name` (as registered) with `args`. A stream command gets `out`
  // (must not be null then). Ends early with operation_aborted if the
  // registration goes away meanwhile. Cancel-safe: cancelling the caller
  // cancels the handler. An unknown name is a failed reply.
  boost::asio::awaitable<CommandReply> run(std::string_view name, const CommandArgs& args,
                                           CommandOutput* out = nullptr);

  // Teardown: releases calls in progress (they end with operation_aborted).
  void abandon_waiters() noexcept;
  bool cancel(CommandRevocationWaiter& w) noexcept;  // ParkedOp owner interface

private:
  friend class CommandRegistration;
  struct Entry {
    Command command;
    std::string owner;
    std::uint64_t id;
  };
  void remove(std::uint64_t id) noexcept;
  bool registered(std::uint64_t id) const noexcept;
  boost::asio::awaitable<void> revoked(std::uint64_t id);

  boost::asio::any_io_executor executor_;
  std::map<std::string, Entry, std::less<>> entries_;
  std::vector<CommandRevocationWaiter*> waiters_;  // calls in progress, at most one per call
  std::uint64_t next_id_ = 1;
};

}  // namespace weft
