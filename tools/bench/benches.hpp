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

// `upload` (upload_bench.cpp): backlog drain rate into a local mosquitto.
struct UploadArgs {
  int rows = 100'000;
  int batch_rows = 500;
  int max_in_flight = 8;
  double backlog_rate = 1e7;  // rows/s limit; the default does not limit
  double timeout_s = 120;
  std::string log_level = "warn";
};
int run_upload(const UploadArgs& a);

// `console` (console_bench.cpp): `services` round trip with many services,
// and loop lag with many clients tailing the log.
struct ConsoleArgs {
  int services = 100;
  int requests = 2000;
  int clients = 100;
  double log_lines_per_s = 200;
  double seconds = 5;  // each loop-lag window
  std::string log_level = "info";  // the chatter logs at info: the tails need lines
};
int run_console(const ConsoleArgs& a);

// `store` (store_bench.cpp): the SQLite store's throughput, commit latency
// and bytes written to disk per reading, for synchronous normal and full.
struct StoreArgs {
  double rate = 1000;          // steady readings/s
  double seconds = 10;         // the steady run
  int throughput_rows = 200'000;
  int batch_rows = 500;
  double batch_age_ms = 200;
  std::string synchronous = "both";  // normal, full, both
  std::string dir = ".";             // where the database goes (a real disk, not tmpfs)
  std::string log_level = "warn";
};
int run_store(const StoreArgs& a);

// `reload` (reload_bench.cpp): a real weftd process; SIGHUP to "applied"
// for a one-instrument change, and a 10 ms ticker's lateness meanwhile.
struct ReloadArgs {
  int instruments = 50;
  int ports = 5;
  int points = 3;
  double period_ms = 1000;  // every instrument's; the changed one alternates with twice this
  int repeats = 20;
  double settle_ms = 200;   // [weftd] reload_settle
  double ticker_ms = 10;    // heartbeat's period: the ticker whose lateness is measured
  double warmup_s = 2;
  double idle_s = 10;       // the idle lateness window, before the reloads
  double pause_s = 0.5;     // between reloads
  std::optional<std::string> weftd;
  std::optional<std::string> devsim;
  std::string log_level = "info";  // weftd's default
  bool realtime = false;  // weftd's loop thread SCHED_FIFO 50 on CPU 1, every other thread on CPU 0 ([realtime])
};
int run_reload(const ReloadArgs& a);

// `ca` (ca_bench.cpp): a real weftd's Channel Access server: monitor
// updates delivered to many circuits, loop CPU per update, a 10 ms ticker's
// lateness meanwhile; RSS per circuit and per channel; a storm of searches
// for unknown names against the console's round trip.
struct CaArgs {
  int points = 1000;       // gather's, float32 ramps, 10 per instrument
  double rate_hz = 10;     // every instrument's poll rate
  int ports = 5;           // ptys (weft-devsim processes) the instruments are spread over
  int clients = 100;       // CA circuits, each monitoring every point
  double warmup_s = 3;     // before the idle window, and again before the fan-out window
  double idle_s = 5;       // points flowing, no client
  double seconds = 10;     // the fan-out window
  int searches = 10'000;   // SEARCHes for unknown names ...
  double search_s = 1;     // ... spread over this long
  double ticker_ms = 10;   // heartbeat's period: the ticker whose lateness is measured
  std::optional<std::string> weftd;
  std::optional<std::string> devsim;
  std::string log_level = "warn";
  bool realtime = false;  // weftd's loop thread SCHED_FIFO 50 on CPU 1, every other thread on CPU 0 ([realtime])
};
int run_ca(const CaArgs& a);

// `start` (start_bench.cpp): fork + exec to READY=1 on a NOTIFY_SOCKET,
// for the floor (a program that sends it at once), a one-heartbeat weftd
// and the demo box; first boot (empty data dir) and second start.
struct StartArgs {
  int runs = 20;
  std::optional<std::string> weftd;
  std::optional<std::string> devsim;
  std::optional<std::string> floor;        // weft-bench-ready (default: beside weft-bench)
  std::optional<std::string> demo_config;  // default: the source tree's examples/demo.toml
  std::string dir;                         // where the temp dir goes (default $TMPDIR or /tmp)
};
int run_start(const StartArgs& a);
// `footprint` (footprint_bench.cpp): the stripped size of weftd, and the
// demo box's memory (examples/demo.toml against weft-devsim on a pty, as
// `tools/dev demo` runs it) after --seconds.
struct FootprintArgs {
  double seconds = 60;
  std::string demo_config = WEFT_DEMO_CONFIG;  // examples/demo.toml of the source tree
  bool size_only = false;
  std::optional<std::string> weftd;
  std::optional<std::string> devsim;
};
int run_footprint(const FootprintArgs& a);

}  // namespace weft::bench
