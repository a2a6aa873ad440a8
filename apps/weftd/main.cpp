// weftd: the device binary. Reads the config, assembles the services and
// runs them on one loop until SIGINT/SIGTERM (exit 0), a config error
// (exit 2) or a service past its restart intensity (exit 3).
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "weft/apps/assemble.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"

namespace {

struct Options {
  std::string config;
  std::string check_config;
  std::string log_level;
  std::string run_for;
  bool virtual_time = false;
};

// "--for 24h": parsed with the config's duration rules, via a tiny document.
weft::Duration parse_duration_arg(const std::string& text) {
  const auto doc = weft::Config::parse("for = \"" + text + "\"", "--for");
  return doc.root().duration("for", weft::Duration::zero(), std::chrono::milliseconds(1));
}

int check_config(const std::string& file) {
  const auto assembly = weft::apps::assemble(weft::Config::load_file(file));
  std::printf("%s: ok (%zu services: ", file.c_str(), assembly.services.size());
  for (std::size_t i = 0; i < assembly.services.size(); ++i)
    std::printf("%s%s", i ? ", " : "", assembly.services[i].spec.name.c_str());
  std::printf(")\n");
  return weft::kExitOk;
}

int run(const Options& o) {
  auto assembly = weft::apps::assemble(weft::Config::load_file(o.config));
  const std::string level = o.log_level.empty() ? assembly.log_level : o.log_level;
  weft::logging::set_default_level(*weft::logging::parse_level(level));
  assembly.options.virtual_time = o.virtual_time;
  weft::Runtime runtime(assembly.options);
  weft::apps::add_services(runtime, assembly);
  if (!o.run_for.empty()) runtime.stop_after(parse_duration_arg(o.run_for));
  return runtime.run();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weftd: the weft device runtime"};
  Options o;
  app.add_option("-c,--config", o.config, "config file (TOML) to run")->check(CLI::ExistingFile);
  app.add_option("--check-config", o.check_config, "validate a config file and exit (0 ok, 2 errors)");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, critical, off (overrides the config)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_flag("--virtual-time", o.virtual_time, "run on the virtual clock (time jumps to the next timer when idle)");
  app.add_option("--for", o.run_for, "stop after this long on the runtime's clock, e.g. 10s, 24h");
  app.set_version_flag("--version", std::string("weftd ") + WEFT_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : weft::kExitUsage;
  }
  try {
    if (!o.check_config.empty()) return check_config(o.check_config);
    if (o.config.empty()) {
      std::cerr << "weftd: no config given; run `weftd --config FILE` (see examples/demo.toml)\n";
      return weft::kExitUsage;
    }
    return run(o);
  } catch (const weft::ConfigError& e) {
    std::cerr << "weftd: " << e.what() << "\n";
    return weft::kExitUsage;
  } catch (const weft::ServiceGraphError& e) {
    std::cerr << "weftd: " << e.what() << "\n";
    return weft::kExitUsage;
  }
}
