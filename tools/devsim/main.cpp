// weft-devsim: serves the simulated instruments of one [[serial]] port of a
// weft config on a pty, so weftd (or any Modbus master: libmodbus,
// pymodbus, minicom; or any line reader for an ASCII port: pyserial, cat)
// can talk to them over a real tty without hardware.
//
//   weft-devsim --config examples/plant.toml --port line1 --pty-link /tmp/ttyV0
//
// Values and faults come from the instruments' `sim` settings. With
// --wire-time each Modbus answer is delayed by the request's wire time, t3.5 and the
// answer's character times at the port's baud rate, so a pty behaves like a line.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "pty.hpp"
#include "weft/apps/gather/gather_config.hpp"
#include "weft/core/context.hpp"
#include "weft/core/log.hpp"
#include "weft/core/runtime.hpp"
#include "weft/drivers/sim/ascii_device.hpp"
#include "weft/drivers/sim/modbus_device.hpp"

namespace {

// The one service: the simulated device(s) `make()` builds, served on a pty
// at `link`. A device returns from serve() when its client goes or a
// disconnect fault fires: it is back on the line shortly after.
template <typename MakeDevice>
weft::ServiceSpec serve_on_pty(MakeDevice make, std::string what, std::string link) {
  return weft::coroutine_service("devsim", {}, {}, [make, what, link](weft::Context& ctx) -> boost::asio::awaitable<void> {
    weft::devsim::Pty pty(ctx.executor(), link);
    auto device = make();
    ctx.log().info("serving {} on {} -> {}", what, link, pty.slave_path());
    ctx.ready();
    for (;;) {
      co_await device.serve(pty, ctx.timers());
      co_await ctx.sleep(std::chrono::milliseconds(50));
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-devsim: simulated serial instruments on a pty"};
  std::string config_file, port_name, link;
  bool wire_time = false;
  std::uint64_t seed = 1;
  app.add_option("-c,--config", config_file, "weft config with [[serial]] and [[instrument]] tables")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--port", port_name, "the [[serial]] name whose instruments to simulate")->required();
  app.add_option("--pty-link", link, "path of the symlink to the pty's slave side (what the master opens)")->required();
  app.add_flag("--wire-time", wire_time, "delay answers as a real line would: request wire time + t3.5 + answer wire time");
  app.add_option("--seed", seed, "seed for simulated values and faults");
  CLI11_PARSE(app, argc, argv);

  try {
    const weft::Config config = weft::Config::load_file(config_file);
    const auto root = config.root();
    const auto gather_section = root.table("service")->table("gather");
    const weft::apps::GatherConfig gather = weft::apps::read_gather_config(root, *gather_section);
    const weft::apps::PortConfig* port = gather.find_port(port_name);
    if (port == nullptr) {
      std::cerr << "weft-devsim: " << config_file << " has no [[serial]] named '" << port_name << "'\n";
      return 2;
    }
    weft::Runtime runtime;
    if (const weft::apps::InstrumentConfig* instrument = weft::apps::ascii_instrument(gather, port_name)) {
      const weft::sim::AsciiDeviceSpec spec = weft::apps::simulated_ascii_device(*instrument);
      const std::string what = "ascii instrument " + instrument->name + " of port " + port_name + " (" +
                               std::string(weft::ascii::ParseSpec::to_string(spec.format.kind)) + ", " +
                               (spec.request.empty() ? "streaming" : "answering requests") + ")";
      runtime.add(serve_on_pty([spec, seed] { return weft::sim::AsciiDevice(spec, seed); }, what, link));
    } else {
      auto units = weft::apps::simulated_units(gather, port_name);
      if (units.empty()) {
        std::cerr << "weft-devsim: no [[instrument]] uses port '" << port_name << "' in " << config_file << "\n";
        return 2;
      }
      const weft::modbus::LineSettings line = weft::apps::line_settings(*port);
      const std::string what = std::to_string(units.size()) + " simulated unit(s) of port " + port_name + " (" +
                               std::to_string(line.baud) + " baud" + (wire_time ? ", wire time" : "") + ")";
      runtime.add(serve_on_pty([units, line, seed, wire_time] { return weft::sim::SimBus(units, line, seed, wire_time); },
                               what, link));
    }
    return runtime.run();
  } catch (const std::exception& e) {
    std::cerr << "weft-devsim: " << e.what() << "\n";
    return 2;
  }
}
