// Console commands about the log: `log tail` (the recent lines from the
// in-memory ring, then live lines until the client ends it) and
// `log level` (show, or set the default or one service's level).
// The live tail polls the ring every 100 ms of real time: the ring is
// filled by the log thread, and a poll costs one short lock and no wakeup
// of the loop while nothing is tailing.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

#include "weft/apps/console/console_commands.hpp"
#include "weft/apps/console/console_format.hpp"
#include "weft/apps/console/console_protocol.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime_control.hpp"

namespace weft::apps {
namespace {

using namespace console_format;
using boost::asio::awaitable;

constexpr auto kTailPoll = std::chrono::milliseconds(100);

std::string level_name(spdlog::level::level_enum l) {
  if (l == spdlog::level::err) return "error";
  const auto v = spdlog::level::to_string_view(l);
  return std::string(v.data(), v.size()) == "warning" ? "warn" : std::string(v.data(), v.size());
}

std::string render(const std::vector<logging::LogLine>& lines, bool json) {
  std::string out;
  for (const auto& l : lines) {
    if (json)
      out += JsonObject()
                 .integer("seq", static_cast<std::int64_t>(l.seq))
                 .integer("wall_ns", l.wall_ns)
                 .str("level", level_name(l.level))
                 .str("logger", l.logger)
                 .str("text", l.text)
                 .done();
    else out += logging::format_line(l);
    out += '\n';
  }
  return out;
}

std::string json_lines(const std::vector<logging::LogLine>& lines) {
  std::vector<std::string> values;
  for (const auto& l : lines) {
    std::string one = render({l}, true);
    one.pop_back();  // its '\n'
    values.push_back(std::move(one));
  }
  return json_array(values);
}

struct TailArgs {
  std::size_t lines = 20;
  bool follow = true;
  std::string service;  // empty: every logger
};

std::optional<std::string> parse_tail(RuntimeControl& rc, const CommandArgs& args, TailArgs& t) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--once") {
      t.follow = false;
    } else if (a == "-n") {
      if (i + 1 == args.size()) return "-n needs a number of lines";
      const std::string& n = args[++i];
      std::size_t v = 0;
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
      if (ec != std::errc() || end != n.data() + n.size() || v > logging::kRingLines)
        return "-n takes a number from 0 to " + std::to_string(logging::kRingLines) + ", not '" + n + "'";
      t.lines = v;
    } else if (!a.empty() && a[0] == '-') {
      return "unknown option '" + a + "'";
    } else if (t.service.empty()) {
      if (a != "weft" && !rc.service(a)) return "no service named '" + a + "' (nor the runtime's own log, 'weft')";
      t.service = a;
    } else {
      return "takes at most one service name";
    }
  }
  return std::nullopt;
}

awaitable<CommandReply> tail(ConsoleEnv& env, const Command& self, const CommandArgs& args, CommandOutput& out) {
  RuntimeControl& rc = env.ctx.runtime_control();
  TailArgs t;
  if (auto error = parse_tail(rc, args, t)) co_return usage_error(self, *error);
  auto recent = logging::recent_lines(0, t.lines, t.service);
  std::uint64_t seq = recent.empty() ? logging::last_line_seq() : recent.back().seq;
  if (!t.follow) co_return CommandReply{true, render(recent, false), json_lines(recent)};
  if (!recent.empty() && !out.write(render(recent, out.json()))) co_return CommandReply{false, "", {}};
  boost::asio::steady_timer poll(co_await boost::asio::this_coro::executor);
  for (;;) {
    poll.expires_after(kTailPoll);
    co_await poll.async_wait(boost::asio::use_awaitable);  // cancelled when the client ends the stream
    // Newest lines first if the log outran us by more than the ring holds.
    auto fresh = logging::recent_lines(seq, logging::kRingLines, t.service);
    if (fresh.empty()) continue;
    std::string chunk;
    if (t.service.empty() && fresh.front().seq > seq + 1)
      chunk = out.json() ? "" : "[" + std::to_string(fresh.front().seq - seq - 1) + " lines not shown: the ring moved on]\n";
    seq = fresh.back().seq;
    if (!out.write(chunk + render(fresh, out.json()))) co_return CommandReply{false, "", {}};
  }
}

awaitable<CommandReply> level(ConsoleEnv& env, const Command& self, const CommandArgs& args) {
  RuntimeControl& rc = env.ctx.runtime_control();
  if (args.empty()) {
    Table t({"LOGGER", "LEVEL"});
    t.add({"(default)", level_name(logging::default_level())});
    t.add({"weft", level_name(rc.logger("weft")->level())});
    for (const auto& name : rc.service_names()) t.add({name, level_name(rc.logger(name)->level())});
    co_return CommandReply{true, t.render(), {}};
  }
  if (args.size() > 2) co_return usage_error(self, "takes at most a service name and a level");
  const std::string& level_text = args.back();
  const auto parsed = logging::parse_level(level_text);
  if (!parsed)
    co_return usage_error(self, "unknown level '" + level_text + "'; use trace, debug, info, warn, error, critical or off");
  if (args.size() == 1) {
    logging::set_default_level(*parsed);
    co_return CommandReply{true, "every logger: " + level_text + "\n", {}};
  }
  spdlog::logger* logger = rc.logger(args[0]);
  if (logger == nullptr) co_return usage_error(self, "no service named '" + args[0] + "' (nor 'weft', the runtime's own)");
  logger->set_level(*parsed);
  co_return CommandReply{true, args[0] + ": " + level_text + "\n", {}};
}

}  // namespace

void add_log_commands(ConsoleEnv& env, Registrations& out) {
  auto self = [&env](const char* name) -> const Command& { return *env.ctx.runtime_control().commands().find(name); };
  auto loggers = [&env] {
    auto names = env.ctx.runtime_control().service_names();
    names.push_back("weft");
    return names;
  };
  auto loggers_and_levels = [loggers] {
    auto names = loggers();
    for (const char* l : {"trace", "debug", "info", "warn", "error", "critical", "off"}) names.push_back(l);
    return names;
  };
  Command tail_cmd{"log tail", "log tail [-n LINES] [--once] [SERVICE]",
                   "the last lines of the log (all, or one service's), then new lines live until you press Enter "
                   "(--once: no live part)",
                   {}, loggers};
  tail_cmd.stream = [&env, self](const CommandArgs& a, CommandOutput& o) { return tail(env, self("log tail"), a, o); };
  out.push_back(env.ctx.add_command(std::move(tail_cmd)));
  out.push_back(env.ctx.add_command({"log level", "log level [[SERVICE] LEVEL]",
                                     "show the log levels, or set the default's or one service's",
                                     [&env, self](const CommandArgs& a) { return level(env, self("log level"), a); },
                                     loggers_and_levels}));
}

}  // namespace weft::apps
