// The health gate (update_health.hpp).
#include "update_health.hpp"

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "client.hpp"
#include "json_value.hpp"

namespace weftctl {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(250);

Clock::time_point after(double s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::string fmt_s(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// One --json request; "" ok (and `out` parsed), else why not.
std::string ask(Client& client, const std::string& command, JsonValue& out, double timeout_s) {
  const Reply r = client.request("--json " + command, {}, {}, timeout_s);
  if (!r.ok) return "`" + command + "` failed: " + r.text;
  std::string error;
  auto v = parse_json(r.text, error);
  if (!v) return "`" + command + "`: unreadable JSON reply (" + error + ")";
  out = std::move(*v);
  return {};
}

std::string read_version(Client& client, RunningWeftd& out, double timeout_s) {
  JsonValue v;
  if (std::string e = ask(client, "version", v, timeout_s); !e.empty())
    return e + (e.find("unknown command") != std::string::npos ? " (a weftd older than weftctl update?)" : "");
  out.pid = client.peer_pid() > 0 ? client.peer_pid() : static_cast<int>(v.num("pid", -1));
  out.version = v.str("version");
  out.build_id = v.str("build_id");
  out.config = v.str("config");
  out.data_dir = v.str("data_dir");
  out.store_schema = static_cast<int>(v.num("store_schema", 0));
  out.update_settle_s = v.num("update_settle_s", -1);
  return {};
}

struct Services {
  std::size_t total = 0, ready = 0;
  double restarts = 0;
  std::string not_ready;  // the first one that is not
  std::string restarted;  // the first one with restarts, and its last error
};

std::string read_services(Client& client, Services& out) {
  JsonValue v;
  if (std::string e = ask(client, "services", v, 10); !e.empty()) return e;
  if (v.kind != JsonValue::Kind::array) return "`services`: not a list";
  for (const JsonValue& s : v.items) {
    ++out.total;
    if (s.flag("ready")) ++out.ready;
    else if (out.not_ready.empty()) out.not_ready = s.str("name") + " (" + s.str("state") + ")";
    const double n = s.num("restarts");
    out.restarts += n;
    if (n > 0 && out.restarted.empty())
      out.restarted = s.str("name") + " restarted " + std::to_string(static_cast<long>(n)) + " times (last error: " +
                      (s.str("last_error").empty() ? "-" : s.str("last_error")) + ")";
  }
  return {};
}

std::string read_stalls(Client& client, double& stalls, std::string& culprit) {
  JsonValue v;
  if (std::string e = ask(client, "loop", v, 10); !e.empty()) return e;
  stalls = v.num("stalls", -1);
  culprit = v.str("last_stall_culprit");
  return stalls < 0 ? "`loop`: no stall count (a weftd older than weftctl update?)" : std::string();
}

}  // namespace

std::string ask_version(const std::string& socket, RunningWeftd& out, double timeout_s) {
  try {
    Client client;
    client.connect(socket);
    return read_version(client, out, timeout_s);
  } catch (const ConnectError& e) {
    return e.message;
  }
}

HealthResult wait_healthy(const HealthGate& gate) {
  HealthResult result;
  const auto started = Clock::now();
  const auto up_deadline = after(gate.start_timeout_s);
  std::unique_ptr<Client> client;
  std::string last;  // the latest reason it is not up yet
  Services services;

  // 1. Up: a new weftd, the package's binary, every service ready.
  for (;;) {
    if (Clock::now() >= up_deadline) {
      result.why = "weftd was not up with every service ready within " + fmt_s(gate.start_timeout_s) +
                   " of the restart (last seen: " + (last.empty() ? "nothing" : last) + ")";
      return result;
    }
    try {
      if (!client) {
        client = std::make_unique<Client>();
        client->connect(gate.socket);
      }
      RunningWeftd w;
      if (std::string e = read_version(*client, w, 10); !e.empty()) {
        last = e;
      } else if (w.pid == gate.old_pid) {
        last = "still the weftd from before the restart (pid " + std::to_string(w.pid) + ")";
        client.reset();  // a new process will answer on a new connection
      } else if (!gate.build_id.empty() && w.build_id != gate.build_id) {
        result.weftd = w;
        result.why = "weftd pid " + std::to_string(w.pid) + " runs build id " + (w.build_id.empty() ? "(none)" : w.build_id) +
                     ", not the package's " + gate.build_id + ": the restart did not start the installed weftd";
        return result;
      } else {
        services = {};
        if (std::string e = read_services(*client, services); !e.empty()) {
          last = e;
        } else if (services.restarts > 0) {
          result.weftd = w;
          result.why = "during start: " + services.restarted;
          return result;
        } else if (services.total > 0 && services.ready == services.total) {
          result.weftd = w;
          break;
        } else {
          last = std::to_string(services.ready) + "/" + std::to_string(services.total) + " services ready" +
                 (services.not_ready.empty() ? "" : ", not " + services.not_ready);
        }
      }
    } catch (const ConnectError& e) {
      last = e.message;
      client.reset();
    }
    std::this_thread::sleep_for(kPoll);
  }
  result.up_s = std::chrono::duration<double>(Clock::now() - started).count();
  result.services = services.total;

  // 2. Settle: the same process, all ready, no restart, no new stall.
  double stalls0 = 0;
  std::string culprit;
  if (std::string e = read_stalls(*client, stalls0, culprit); !e.empty()) {
    result.why = e;
    return result;
  }
  const auto settle_deadline = after(gate.settle_s);
  const int pid = result.weftd.pid;
  while (Clock::now() < settle_deadline) {
    std::this_thread::sleep_for(std::min<Clock::duration>(kPoll, settle_deadline - Clock::now()));
    try {
      Services now;
      double stalls = 0;
      std::string e = read_services(*client, now);
      if (e.empty()) e = read_stalls(*client, stalls, culprit);
      if (!e.empty()) {
        result.why = "during the settle window: " + e;
        return result;
      }
      if (now.restarts > 0) {
        result.why = "during the settle window: " + now.restarted;
        return result;
      }
      if (now.ready != now.total || now.total != services.total) {
        result.why = "during the settle window: " + std::to_string(now.ready) + "/" + std::to_string(now.total) +
                     " services ready" + (now.not_ready.empty() ? "" : ", not " + now.not_ready);
        return result;
      }
      if (stalls > stalls0) {
        result.why = "during the settle window: the loop stalled (" + (culprit.empty() ? "unknown culprit" : culprit) +
                     "; `weftctl --exec loop` shows it)";
        return result;
      }
    } catch (const ConnectError& e) {
      result.why = "weftd (pid " + std::to_string(pid) + ") went away during the settle window (" + e.message +
                   "): it exited or was restarted";
      return result;
    }
  }
  result.healthy = true;
  return result;
}

}  // namespace weftctl
