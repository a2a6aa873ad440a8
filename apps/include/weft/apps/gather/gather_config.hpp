// The gather service's configuration: [[serial]] ports and [[instrument]]s
// (Modbus RTU, or ASCII line instruments) with their [[instrument.point]]s,
// read and validated in one place. Every error names file:line:col and the
// key. Simulation settings of an instrument (its [instrument.sim] table and
// each point's `sim` model) are read here too, so the same file runs on a
// real box and in --simulate.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "weft/core/config.hpp"
#include "weft/core/point_info.hpp"
#include "weft/drivers/ascii/line_framer.hpp"
#include "weft/drivers/ascii/parse_spec.hpp"
#include "weft/drivers/modbus/registers.hpp"
#include "weft/drivers/modbus/rtu_master.hpp"
#include "weft/drivers/serial/reconnect_policy.hpp"
#include "weft/drivers/serial/settings.hpp"
#include "weft/drivers/sim/ascii_device.hpp"
#include "weft/drivers/sim/modbus_device.hpp"

namespace weft::apps {

struct PortConfig {
  std::string name;
  serial::SerialSettings settings;
  modbus::MasterOptions master;   // response_timeout, retries, pause_between_requests, flush_before_request,
                                  // max_quiet_wait
  Duration pause_after_open{};    // device quirk: some adapters/devices need a moment
  serial::ReconnectOptions reconnect;
  std::string where;              // file:line:col of the [[serial]] entry
};

struct PointConfig {
  std::string name;
  sim::Table table = sim::Table::holding;
  std::uint16_t address = 0;
  modbus::RegisterType type = modbus::RegisterType::uint16;
  modbus::WordOrder order = modbus::WordOrder::abcd;
  double scale = 1;
  double offset = 0;
  // unit, precision, description, limits, state names, deadbands: put on the
  // bus's point descriptions for the services that present points (ca)
  PointInfo info;
  // Modbus holding registers and coils: writes through the bus's PointWrites
  // (a CA put) become Modbus writes between polls (bus_poller.hpp).
  bool writable = false;
  bool write_multiple = false;  // device quirk: FC 16 / 15 even for one register / coil (else FC 6 / 5)
  sim::ValueModel sim;   // value model when simulated
  // ASCII instruments: where the value is in the line (by the format).
  std::string key;           // kv: the key as sent (default: the point's name)
  std::size_t column = 0;    // csv: 0-based column
  std::string sentence;      // nmea: "GPGGA", or "GGA" from any talker
  std::size_t field = 1;     // nmea: 1-based field after the address
  ascii::FieldType field_type = ascii::FieldType::number;
  bool optional = false;     // absent from a line: not an error
};

enum class Protocol : std::uint8_t { modbus_rtu, ascii };

// An ASCII line instrument: one line (or NMEA sentence) per reading.
struct AsciiSettings {
  ascii::FramerOptions framing;                // terminator, max_line
  std::optional<ascii::ParseSpec> spec;        // built from the points: always set once read
  ascii::ParseSpec::Kind format = ascii::ParseSpec::Kind::key_value;
  char pair_separator = ' ';                   // kv
  char kv_separator = '=';                     // kv
  char delimiter = ',';                        // csv
  Duration stale_after = std::chrono::seconds(3);  // no good line this long: points go stale
  std::string request;                         // sent every period when set (polled); empty: streams
  sim::AsciiFaults sim_faults;
};

struct InstrumentConfig {
  std::string name;
  std::string port;
  Protocol protocol = Protocol::modbus_rtu;
  std::uint8_t unit = 1;
  Duration period = std::chrono::seconds(1);
  int max_registers_per_request = 125;
  int max_gap = 0;
  int quarantine_after = 3;                       // consecutive failed polls before quarantine
  Duration probe_period = std::chrono::seconds(30);  // poll rate while quarantined
  std::vector<PointConfig> points;
  sim::SimFaults sim_faults;
  Duration sim_response_delay{};
  AsciiSettings ascii;  // protocol == ascii
  std::string where;
};

struct GatherConfig {
  std::vector<PortConfig> ports;
  std::vector<InstrumentConfig> instruments;
  std::string lock_dir;  // empty: the system default (/run/lock)

  const PortConfig* find_port(std::string_view name) const noexcept;
};

// Reads the top-level [[serial]] and [[instrument]] arrays; `section` is the
// service's own table ([service.gather]) for service-level keys.
GatherConfig read_gather_config(const ConfigSection& root, const ConfigSection& section);

// The port's line settings, as the Modbus timing sees them.
modbus::LineSettings line_settings(const PortConfig& port);
// The simulated devices of every Modbus instrument on `port` (their sim settings).
std::vector<sim::SimUnit> simulated_units(const GatherConfig& config, const std::string& port);
// The ASCII instrument on `port`, if that port carries one (then it is the only one).
const InstrumentConfig* ascii_instrument(const GatherConfig& config, const std::string& port);
// Its simulated twin: same format, values from the points' sim models.
sim::AsciiDeviceSpec simulated_ascii_device(const InstrumentConfig& instrument);

}  // namespace weft::apps
