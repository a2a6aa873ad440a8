// The console's health commands, registered by the core (owner "weft"),
// each with its help line beside its handler: `loop` (lag histogram,
// stalls), `dump` (writes a dump, replies with its path and text),
// `crashes` (lists crash reports). File I/O runs on the blocking pool.
#include <sstream>

#include <boost/asio/use_awaitable.hpp>

#include "health.hpp"
#include "runtime_core.hpp"
#include "weft/core/crash_report.hpp"

namespace weft::detail {
namespace {

std::string format_loop(const LoopLagSnapshot& lag, const StallCounters& stalls, const RuntimeOptions& o) {
  std::ostringstream out;
  auto line = [&](const char* label, const LagHistogram& h) {
    out << label << ": " << h.count() << " samples, p50 " << human_duration(h.percentile(0.5)) << ", p99 "
        << human_duration(h.percentile(0.99)) << ", max " << human_duration(h.max()) << "\n";
  };
  out << "loop lag (probe every " << human_duration(lag.probe_period) << ", how late it ran):\n";
  line("  since start", lag.total);
  line("  recent", lag.recent);
  out << "  histogram since start:\n";
  for (std::size_t i = 0; i < LagHistogram::kBuckets; ++i)
    if (lag.total.buckets()[i] != 0)
      out << "    [" << human_duration(LagHistogram::bucket_lower(i)) << ", "
          << human_duration(LagHistogram::bucket_upper(i)) << "): " << lag.total.buckets()[i] << "\n";
  out << "stalls (loop held > " << human_duration(o.stall_threshold) << "; hang at "
      << human_duration(o.hang_threshold) << "): " << stalls.stalls << (stalls.stalled_now ? ", stalled now" : "")
      << "\n";
  if (stalls.last)
    out << "  last: " << stalls.last->culprit << " for at least " << human_duration(stalls.last->stalled_for)
        << (stalls.last->last_site.empty() ? "" : ", last await " + stalls.last->last_site) << "\n";
  return out.str();
}

// `--json loop`: the stall counters (weftctl update's health window reads
// them). Names are service names; quotes and backslashes escaped anyway.
std::string loop_json(const LoopLagSnapshot& lag, const StallCounters& stalls) {
  auto str = [](const std::string& v) {
    std::string out = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    return out + "\"";
  };
  std::ostringstream out;
  out << "{\"stalls\":" << stalls.stalls << ",\"stalled_now\":" << (stalls.stalled_now ? "true" : "false")
      << ",\"last_stall_culprit\":" << str(stalls.last ? stalls.last->culprit : std::string())
      << ",\"lag_p99_ns\":" << lag.recent.percentile(0.99).count() << "}";
  return out.str();
}

CommandReply text_reply(std::string text) {
  CommandReply reply;
  reply.text = std::move(text);
  return reply;
}

}  // namespace

void Health::register_commands() {
  commands_.clear();
  commands_.push_back(core_.commands.add({
      .name = "loop",
      .usage = "loop",
      .help = "loop lag histogram (how late timers run), stall count and the last stall",
      .handler = [this](const CommandArgs&) -> boost::asio::awaitable<CommandReply> {
        const LoopLagSnapshot lag = loop_lag();
        const StallCounters stalls = stall_counters();
        CommandReply reply = text_reply(format_loop(lag, stalls, core_.options));
        reply.json = loop_json(lag, stalls);
        co_return reply;
      }}));

  commands_.push_back(core_.commands.add({
      .name = "dump",
      .usage = "dump",
      .help = "dump every service (state, await site, restarts, CPU, allocations), bus queues and sections",
      .handler = [this](const CommandArgs&) -> boost::asio::awaitable<CommandReply> {
        std::string text = dump_text("console");
        if (core_.options.data_dir.empty())
          co_return text_reply("(no data_dir: dump not saved)\n" + text);
        std::string path;
        co_await core_.pool.async_run(
            [&] { path = write_dump_file(dumps_dir(), text, core_.clock->wall_ns()); }, core_.ioc.get_executor(),
            boost::asio::use_awaitable);
        co_return text_reply("dump written to " + path + "\n" + text);
      }}));

  commands_.push_back(core_.commands.add({
      .name = "crashes",
      .usage = "crashes",
      .help = "crash reports left by earlier runs (time, cause, service, where, report file)",
      .handler = [this](const CommandArgs&) -> boost::asio::awaitable<CommandReply> {
        if (core_.options.data_dir.empty()) co_return text_reply("no data_dir: crash reports are off\n");
        std::vector<crash::CrashReport> reports;
        co_await core_.pool.async_run([&] { reports = crash::list_reports(crash_dir()); }, core_.ioc.get_executor(),
                                      boost::asio::use_awaitable);
        std::ostringstream out;
        if (reports.empty()) out << "no crash reports in " << crash_dir() << "\n";
        for (const auto& r : reports)
          out << r.time << "  " << r.cause << "\n  service " << r.service << ", at " << r.where << "\n  " << r.path
              << "\n";
        co_return text_reply(out.str());
      }}));
}

}  // namespace weft::detail
