// Entry points of the device-side benchmarks (main.cpp parses the command
// line into these): `modbus` (RTU cycle efficiency on a pty against
// weft-devsim), `simulate` (gather on the virtual clock) and `gather` (loop
// CPU per reading on the real clock). Each prints "<bench> key=value" lines.
#pragma once

#include <optional>
#include <string>

namespace weft::bench {

struct ModbusArgs {
  unsigned baud = 19200;
  char parity = 'E';  // 8E1 (default) or 8N1
  int registers = 10;
  double seconds = 10;
  double warmup_s = 1;
  std::optional<std::string> devsim;
  std::string log_level = "warn";
};
int run_modbus(const ModbusArgs& a);

struct SimulateArgs {
  int instruments = 50;
  int ports = 5;
  int points = 3;
  double period_ms = 1000;
  double hours = 24;
  std::string log_level = "warn";
};
int run_simulate(const SimulateArgs& a);

struct GatherArgs {
  double readings_per_s = 1000;
  int points = 10;
  double period_ms = 1000;
  int ports = 10;
  double seconds = 10;
  double warmup_s = 3;
  std::string devices = "sim";  // sim: --simulate (devices in gather); pty: weft-devsim processes
  std::optional<std::string> devsim;
  std::string log_level = "warn";
};
int run_gather(const GatherArgs& a);

}  // namespace weft::bench
