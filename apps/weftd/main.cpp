// weftd: the device binary. Reads the config, assembles the services and
// runs them on one loop until SIGINT/SIGTERM (exit 0), a config error
// (exit 2), a service past its restart intensity (exit 3), a hung loop
// (exit 4), a data dir held by another weftd (exit 5) or a required
// [realtime] profile the kernel refused (exit 6). SIGHUP (and the
// console's `reload`) reloads the config file live: the reload coordinator
// (apps/reload/) restarts only what changed and rolls back what fails.
// `--simulate SERVICE` runs one service (and what it needs) against
// simulated instruments, printing readings, optionally on the virtual clock.
// `--build-info` prints what `weftctl update` checks in a package's weftd
// before installing it (version, build id, store schema).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <utility>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/assembly/reload_plan.hpp"
#include "weft/apps/gather/bus_poller.hpp"
#include "weft/apps/record/record_intake.hpp"
#include "weft/apps/reload/reload_coordinator.hpp"
#include "weft/apps/update/update_record.hpp"
#include "weft/core/build_id.hpp"
#include "weft/core/context.hpp"
#include "weft/core/data_dir_lock.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/runtime_control.hpp"
#include "weft/drivers/store/store.hpp"
#include "licenses.hpp"

namespace {

struct Options {
  std::string config;
  std::string check_config;
  std::string log_level;
  std::string run_for;
  std::string simulate;
  bool virtual_time = false;
  bool print_readings = false;
  bool licenses = false;
  bool sbom = false;
  bool build_info = false;
};

// key=value lines, one per fact; weftctl update reads them (update_package.cpp).
int print_build_info() {
  std::printf("version=%s\nbuild_id=%s\nstore_schema=%d\n", WEFT_VERSION, weft::own_build_id().c_str(),
              weft::store::kSchemaVersion);
  return weft::kExitOk;
}

// The update record (weftctl update) as this start finds it: logged, and
// its note on STATUS=. Before the loop runs: blocking reads are fine here.
void note_update_record(weft::Runtime& runtime, const std::string& data_dir) {
  if (data_dir.empty()) return;
  const std::string dir = weft::update::update_dir(data_dir);
  const auto state = weft::update::read_state(dir);
  const auto pending = weft::update::read_pending(dir);
  const auto log = weft::logging::make_logger("update");
  for (const std::string* error : {&state.error, &pending.error})
    if (!error->empty()) log->warn("update record: {}", *error);
  const std::string note = weft::update::status_note(state.value, pending.value);
  if (note.empty()) return;
  if (pending.value)
    log->warn("update {} (updater pid {}): weftd {} runs; `weftctl update --resume` resolves it if no updater "
              "runs", note, pending.value->updater_pid, WEFT_VERSION);
  else
    log->info("last update: {}", note);
  runtime.control().set_update_note(note);
}

// "--for 24h": parsed with the config's duration rules, via a tiny document.
weft::Duration parse_duration_arg(const std::string& text) {
  const auto doc = weft::Config::parse("for = \"" + text + "\"", "--for");
  return doc.root().duration("for", weft::Duration::zero(), std::chrono::milliseconds(1));
}

int check_config(const std::string& file) {
  // The same check as the console's `reload --dry-run` (reload_plan.hpp).
  const auto checked = weft::apps::check_config_file(file);
  const auto& assembly = checked.assembly;
  std::printf("%s: ok (%zu services: ", file.c_str(), assembly.services.size());
  for (std::size_t i = 0; i < assembly.services.size(); ++i)
    std::printf("%s%s", i ? ", " : "", assembly.services[i].spec.name.c_str());
  std::printf(")\n");
  return weft::kExitOk;
}

// Keeps `name` and, transitively, what it needs; unknown or unconfigured
// names are errors that list what is there.
void keep_only(weft::apps::Assembly& assembly, const std::string& name, const std::string& file) {
  std::vector<std::string> wanted{name};
  // A configured console comes along: a simulation is looked at with weftctl too.
  if (name != "console" &&
      std::any_of(assembly.services.begin(), assembly.services.end(), [](const auto& s) { return s.spec.name == "console"; }))
    wanted.push_back("console");
  std::vector<weft::apps::ConfiguredService> kept;
  while (!wanted.empty()) {
    const std::string next = wanted.back();
    wanted.pop_back();
    if (std::any_of(kept.begin(), kept.end(), [&](const auto& s) { return s.spec.name == next; })) continue;
    auto it = std::find_if(assembly.services.begin(), assembly.services.end(),
                           [&](const auto& s) { return s.spec.name == next; });
    if (it == assembly.services.end()) {
      std::string configured;
      for (const auto& s : assembly.services) configured += (configured.empty() ? "" : ", ") + s.spec.name;
      throw weft::ConfigError("--simulate " + next + ": no enabled [service." + next + "] in " + file +
                              " (configured: " + (configured.empty() ? "none" : configured) +
                              "; known services: " + weft::apps::known_service_names() + ")");
    }
    for (const auto& need : it->spec.needs) wanted.push_back(need);
    kept.push_back(std::move(*it));
    assembly.services.erase(it);
  }
  assembly.services = std::move(kept);
}

// Prints every reading to stdout as it is published (simulation output).
weft::ServiceSpec printer(std::int64_t origin_ns) {
  return weft::coroutine_service("print", {}, {}, [origin_ns](weft::Context& ctx) -> boost::asio::awaitable<void> {
    weft::Subscription sub = ctx.subscribe("*", 65536);
    ctx.ready();
    for (;;) {
      const weft::Reading r = co_await sub.receive();
      std::printf("%12.3f %s = %s (%s)\n", static_cast<double>(r.mono_ns - origin_ns) / 1e9, r.point.c_str(),
                  weft::to_string(r.value).c_str(), std::string(weft::to_string(r.quality)).c_str());
    }
  });
}

void print_summary(double simulated_s, double wall_s, const weft::apps::GatherReport& report) {
  std::printf("summary: %.0f s simulated in %.2f s wall (%.0fx)\n", simulated_s, wall_s,
              wall_s > 0 ? simulated_s / wall_s : 0.0);
  if (report.instruments.empty()) return;
  std::printf("%-16s %10s %10s %10s %9s %7s %7s %7s %7s %7s\n", "instrument", "polls", "good", "readings", "timeouts",
              "crc", "except", "busy", "other", "missed");
  for (const auto& [name, c] : report.instruments)
    std::printf("%-16s %10llu %10llu %10llu %9llu %7llu %7llu %7llu %7llu %7llu\n", name.c_str(),
                static_cast<unsigned long long>(c.polls), static_cast<unsigned long long>(c.good_polls),
                static_cast<unsigned long long>(c.readings), static_cast<unsigned long long>(c.timeouts),
                static_cast<unsigned long long>(c.crc_errors), static_cast<unsigned long long>(c.exceptions),
                static_cast<unsigned long long>(c.line_busy), static_cast<unsigned long long>(c.other_errors),
                static_cast<unsigned long long>(c.missed));
}

int run(const Options& o) {
  weft::apps::GatherReport report;
  // record's bus subscription for the whole process: readings published
  // while record restarts (a reload, a crash-restart) wait in it.
  weft::apps::RecordIntake record_intake;
  weft::apps::RunMode mode{!o.simulate.empty(), 1, &report, &record_intake};
  // Live reload, for the box (a simulation runs a chosen subset: none).
  // Declared before the assembly and the runtime: it owns the assembly
  // once the runtime has its services, and outlives the runtime.
  std::optional<weft::apps::ReloadCoordinator> coordinator;
  if (!mode.simulate) {
    coordinator.emplace(weft::apps::ReloadOptions{o.config, mode, !o.log_level.empty()});
    mode.reload = &*coordinator;
  }
  // Read once: the bytes parsed are the bytes the next reload compares with.
  const std::string text = weft::apps::read_config_text(o.config);
  const weft::Config config = weft::Config::parse(text, o.config);
  auto assembly = weft::apps::assemble(config, mode);
  if (mode.simulate) keep_only(assembly, o.simulate, o.config);
  const std::string level = o.log_level.empty() ? assembly.log_level : o.log_level;
  weft::logging::set_default_level(*weft::logging::parse_level(level));
  // --log-level fixes every level, the services' own [service.NAME] log_level too (and a reload changes none).
  if (!o.log_level.empty())
    for (auto& s : assembly.services) s.log_level.clear();
  assembly.options.virtual_time = o.virtual_time;
  // A simulation must not take the box's data-dir lock nor leave its crash reports there.
  if (mode.simulate) assembly.options.data_dir.clear();
  int code = weft::kExitOk;
  double simulated_s = 0, wall_s = 0;
  {
    weft::Runtime runtime(assembly.options);
    const weft::apps::RecordIntakeRelease release_intake(record_intake);  // before the runtime's bus goes
    weft::apps::add_services(runtime, assembly);
    if (mode.simulate && (o.print_readings || !o.virtual_time)) runtime.add(printer(weft::to_ns(runtime.clock().now())));
    if (!o.run_for.empty()) runtime.stop_after(parse_duration_arg(o.run_for));
    if (!mode.simulate) note_update_record(runtime, assembly.options.data_dir);
    if (coordinator) coordinator->attach(runtime, config, text, std::move(assembly));  // SIGHUP reloads
    const weft::MonoTime started = runtime.clock().now();
    const auto wall_started = std::chrono::steady_clock::now();
    code = runtime.run();
    std::signal(SIGHUP, SIG_IGN);  // the runtime's handler is gone (SIG_DFL): see main()
    simulated_s = std::chrono::duration<double>(runtime.clock().now() - started).count();
    wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_started).count();
  }
  weft::logging::flush();  // the log thread may still hold the last lines (before the summary on stdout)
  if (mode.simulate) print_summary(simulated_s, wall_s, report);
  // The coordinator and the assembly, the Store with them, are destroyed
  // only as this returns; the Store's close logs "closed; committed through
  // seq N" then, so main() flushes the log again after that.
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // A log pipe whose reader went away makes stderr writes fail with EPIPE,
  // which the log counts as lost lines (log.hpp); the default SIGPIPE would
  // kill the process first. (systemd ignores it for us; a shell pipe does not.)
  std::signal(SIGPIPE, SIG_IGN);
  // SIGHUP (a reload) must not kill the box at any moment: the runtime
  // catches it only while it runs, and its default action (exit 129, not a
  // line logged) applied while the config was read and the services were
  // assembled, and again after the loop ended (the runtime's signal_set
  // puts back SIG_DFL). weftd starts no child that would inherit this.
  std::signal(SIGHUP, SIG_IGN);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // readings interleave with the log as they happen
  CLI::App app{"weftd: the weft device runtime"};
  Options o;
  app.add_option("-c,--config", o.config, "config file (TOML) to run")->check(CLI::ExistingFile);
  app.add_option("--check-config", o.check_config, "validate a config file and exit (0 ok, 2 errors)");
  app.add_option("--log-level", o.log_level,
                 "trace, debug, info, warn, error, critical, off (overrides every log_level of the config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--simulate", o.simulate, "run this service (and what it needs) against simulated instruments");
  app.add_flag("--virtual-time", o.virtual_time, "run on the virtual clock (time jumps to the next timer when idle)");
  app.add_flag("--print-readings", o.print_readings, "with --simulate --virtual-time: print every reading too");
  app.add_option("--for", o.run_for, "stop after this long on the runtime's clock, e.g. 10s, 24h");
  app.add_flag("--licenses", o.licenses,
               "print every shared object the loader loaded (package, version, licence from dpkg) and what is "
               "compiled in, then exit");
  app.add_flag("--sbom", o.sbom, "print the same as an SPDX 2.3 JSON document, then exit");
  app.add_flag("--build-info", o.build_info,
               "print version, ELF build id and store schema as key=value lines (weftctl update reads them), then exit");
  app.set_version_flag("--version", std::string("weftd ") + WEFT_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : weft::kExitUsage;
  }
  try {
    if (o.licenses) return weftd::print_licenses(std::cout, std::cerr);
    if (o.sbom) return weftd::print_sbom(std::cout, std::cerr);
    if (o.build_info) return print_build_info();
    if (!o.check_config.empty()) return check_config(o.check_config);
    if (o.config.empty()) {
      weft::logging::write_stderr("weftd: no config given; run `weftd --config FILE` (see examples/demo.toml)\n");
      return weft::kExitUsage;
    }
    const int code = run(o);
    weft::logging::flush();  // the log thread may still hold the last lines, the Store's close among them
    return code;
  } catch (const weft::ConfigError& e) {
    weft::logging::write_stderr(std::string("weftd: ") + e.what() + "\n");
    return weft::kExitUsage;
  } catch (const weft::ServiceGraphError& e) {
    weft::logging::write_stderr(std::string("weftd: ") + e.what() + "\n");
    return weft::kExitUsage;
  } catch (const weft::RealtimeError& e) {
    weft::logging::flush();
    weft::logging::write_stderr(std::string("weftd: ") + e.what() + "\n");
    return weft::kExitRealtime;
  } catch (const weft::DataDirBusyError& e) {
    weft::logging::flush();
    weft::logging::write_stderr(std::string("weftd: ") + e.what() + "\n");
    return weft::kExitDataDirBusy;
  }
}
