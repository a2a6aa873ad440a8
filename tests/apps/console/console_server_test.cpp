// The console service in-process: a Runtime built from a config (console,
// heartbeat, tap) runs its loop on a second thread; the test talks to the
// socket as a client would, through the wire protocol. Covers every core
// command, bad input, JSON, streaming, a client that stops reading, the
// idle timeout, max_clients and a stale socket left by a dead weftd.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include <boost/asio/post.hpp>

#include "apps/console/console_test_client.hpp"
#include "weft/apps/assembly/assemble.hpp"
#include "weft/apps/console/console_commands.hpp"
#include "weft/core/config.hpp"
#include "weft/core/runtime.hpp"
#include "support/files.hpp"

using namespace weft;
using weft::console::FrameKind;
using weft::test::ConsoleClient;

namespace {

// A box with heartbeat (points), tap (log lines) and the console, its loop on a thread.
class ConsoleBox {
public:
  explicit ConsoleBox(const std::string& console_keys = "", const std::string& heartbeat_period = "20ms")
      : dir_(weft::test::temp_dir("weft-console")), socket_(dir_ + "/weftd.sock") {
    config_text_ = "[service.heartbeat]\nperiod = \"" + heartbeat_period + "\"\nprefix = \"t\"\n\n"
                   "[service.tap]\npattern = \"t.uptime_s\"\nneeds = [\"heartbeat\"]\n\n"
                   "[service.console]\nsocket = \"" + socket_ + "\"\n" + console_keys;
  }
  ~ConsoleBox() {
    stop();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    auto assembly = apps::assemble(Config::parse(config_text_, "console-test.toml"));
    assembly.options.handle_signals = false;
    runtime_ = std::make_unique<Runtime>(assembly.options);
    apps::add_services(*runtime_, assembly);
    loop_ = std::thread([this] { exit_code_ = runtime_->run(); });
    // Ready once the socket answers (bounded).
    for (int i = 0; i < 1000; ++i) {
      try {
        ConsoleClient probe(socket_);
        if (auto hello = probe.frame(); hello && hello->kind == FrameKind::hello) return;
      } catch (const std::runtime_error&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the console did not answer on " << socket_);
  }

  int stop() {
    if (loop_.joinable()) {
      boost::asio::post(runtime_->io_context(), [this] { runtime_->request_stop(); });
      loop_.join();
    }
    return exit_code_;
  }

  // A connected client past the hello frame.
  std::unique_ptr<ConsoleClient> client() {
    auto c = std::make_unique<ConsoleClient>(socket_);
    auto hello = c->frame();
    REQUIRE(hello);
    REQUIRE(hello->kind == FrameKind::hello);
    return c;
  }

  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_; }

private:
  std::string dir_, socket_, config_text_;
  std::unique_ptr<Runtime> runtime_;
  std::thread loop_;
  int exit_code_ = -1;
};

// Polls `line` until its reply contains `text` (bounded: 20 s).
bool eventually_contains(ConsoleClient& c, const std::string& line, const std::string& text) {
  for (int i = 0; i < 2000; ++i) {
    if (c.request(line).payload.find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST_CASE("console: every core command answers", "[console]") {
  ConsoleBox box;
  box.start();
  auto c = box.client();
  REQUIRE(eventually_contains(*c, "points", "t.uptime_s"));
  // tap logs a reading after the bus has it: on a loaded machine a point
  // can be listed before tap's first line is in the log ring.
  REQUIRE(eventually_contains(*c, "log tail -n 5 --once", "[tap] t.uptime_s"));

  struct Case {
    const char* line;
    FrameKind kind;
    const char* contains;
  };
  const Case cases[] = {
      {"help", FrameKind::ok, "services"},
      {"help log", FrameKind::ok, "log tail"},
      {"help restart", FrameKind::ok, "usage: restart NAME"},
      {"services", FrameKind::ok, "heartbeat"},
      {"service heartbeat", FrameKind::ok, "restart policy:"},
      {"points", FrameKind::ok, "t.rss_kib"},
      {"points t.up*", FrameKind::ok, "t.uptime_s"},
      {"read t.uptime_s", FrameKind::ok, "boot id:"},
      {"log tail -n 5 --once", FrameKind::ok, "[tap] t.uptime_s"},
      {"log tail -n 5 --once tap", FrameKind::ok, "[tap]"},
      {"log level", FrameKind::ok, "heartbeat"},
      {"log level tap debug", FrameKind::ok, "tap: debug"},
      {"log level info", FrameKind::ok, "every logger: info"},
      {"clock", FrameKind::ok, "warp events:"},
      {"mem", FrameKind::ok, "rss:"},
      {"config", FrameKind::ok, "[service.console]"},
      {"console", FrameKind::ok, "clients:"},
      {"version", FrameKind::ok, "store schema:"},
      {"loop", FrameKind::ok, "stalls"},
      {"complete", FrameKind::ok, "services\n"},
      {"complete log", FrameKind::ok, "tail\n"},
      {"complete service", FrameKind::ok, "heartbeat\n"},
      {"complete read", FrameKind::ok, "t.uptime_s\n"},
      {"stop tap", FrameKind::ok, "tap: running -> stopped"},
      {"stop tap", FrameKind::error, "already stopped"},
      {"start tap", FrameKind::ok, "tap: stopped -> "},
      {"restart heartbeat", FrameKind::ok, "heartbeat: running -> stopped -> "},
  };
  for (const auto& k : cases) {
    INFO("request: " << k.line);
    const auto reply = c->request(k.line);
    INFO("reply: " << reply.payload);
    CHECK(reply.kind == k.kind);
    CHECK(reply.payload.find(k.contains) != std::string::npos);
  }
  CHECK(box.stop() == kExitOk);
}

TEST_CASE("console: unknown commands and bad arguments get what is wrong and the usage", "[console]") {
  ConsoleBox box;
  box.start();
  auto c = box.client();
  const std::pair<const char*, const char*> cases[] = {
      {"frobnicate", "unknown command 'frobnicate'; type 'help' for the list of commands\n"},
      {"log", "'log' needs a sub-command: log level [[SERVICE] LEVEL], log tail [-n LINES] [--once] [SERVICE]\n"},
      {"services now", "services: takes no arguments\nusage: services\n"},
      {"service", "service: takes one service name\nusage: service NAME\n"},
      {"service nosuch", "service: no service named 'nosuch'; services: heartbeat, tap, console\nusage: service NAME\n"},
      {"restart", "restart: takes one service name\nusage: restart NAME\n"},
      {"stop console", "stop: the console cannot stop itself from a console session (the session would end with it); "
                       "restart weftd instead\n"},
      {"read", "read: takes one point name\nusage: read POINT\n"},
      {"read no.such", "read: no reading of point 'no.such' yet; 'points' lists the points seen\n"},
      {"points a b", "points: takes at most one glob pattern\nusage: points [GLOB]\n"},
      {"log level tap loud", "log level: unknown level 'loud'; use trace, debug, info, warn, error, critical or off\n"
                             "usage: log level [[SERVICE] LEVEL]\n"},
      {"log level nosuch info", "log level: no service named 'nosuch' (nor 'weft', the runtime's own)\n"
                                "usage: log level [[SERVICE] LEVEL]\n"},
      {"log tail -n lots", "log tail: -n takes a number from 0 to 4096, not 'lots'\n"
                           "usage: log tail [-n LINES] [--once] [SERVICE]\n"},
      {"log tail nosuch", "log tail: no service named 'nosuch' (nor the runtime's own log, 'weft')\n"
                          "usage: log tail [-n LINES] [--once] [SERVICE]\n"},
      {"clock now", "clock: takes no arguments\nusage: clock\n"},
      {"read \"open", "unterminated quote\n"},
  };
  for (const auto& [line, expected] : cases) {
    INFO("request: " << line);
    const auto reply = c->request(line);
    CHECK(reply.kind == FrameKind::error);
    CHECK(reply.payload == expected);
  }
}

TEST_CASE("console: --json replies are JSON values", "[console]") {
  ConsoleBox box;
  box.start();
  auto c = box.client();
  REQUIRE(eventually_contains(*c, "points", "t.uptime_s"));
  auto r = c->request("--json services");
  CHECK(r.kind == FrameKind::ok);
  CHECK(r.payload.starts_with("[{\"name\":\"heartbeat\",\"state\":"));
  r = c->request("--json read t.uptime_s");
  CHECK(r.payload.starts_with("{\"point\":\"t.uptime_s\",\"value\":"));
  r = c->request("--json version");  // what weftctl update reads
  CHECK(r.payload.starts_with("{\"version\":\""));
  CHECK(r.payload.find("\"store_schema\":1,") != std::string::npos);
  CHECK(r.payload.find("\"pending\":null") != std::string::npos);
  r = c->request("--json loop");  // the update's health window reads the stall count
  CHECK(r.payload.starts_with("{\"stalls\":"));  // a count: a loaded machine may have stalled
  CHECK(r.payload.find(",\"stalled_now\":") != std::string::npos);
  CHECK(r.payload.find(",\"last_stall_culprit\":\"") != std::string::npos);
  r = c->request("--json help restart");  // no JSON of its own: the text, wrapped
  CHECK(r.payload == "{\"ok\":true,\"text\":\"usage: restart NAME\\nstop a service (bounded by the stop grace), then start it\\n\"}");
  r = c->request("--json nosuch");
  CHECK(r.kind == FrameKind::error);
  CHECK(r.payload.starts_with("{\"ok\":false,\"text\":\"unknown command"));
}

TEST_CASE("console: mem shows each service's held bytes, high-water mark, limit and leak flag", "[console]") {
  ConsoleBox box("memory_limit = \"4MiB\"\n");  // the console's own limit
  box.start();
  auto c = box.client();
  REQUIRE(eventually_contains(*c, "points", "t.uptime_s"));
  auto r = c->request("mem");
  INFO(r.payload);
  CHECK(r.payload.find("SERVICE") != std::string::npos);
  CHECK(r.payload.find("HELD") != std::string::npos);
  CHECK(r.payload.find("HIGH") != std::string::npos);
  CHECK(r.payload.find("LIMIT") != std::string::npos);
  CHECK(r.payload.find("LEAK") != std::string::npos);
  // The console's row: its limit in bytes; heartbeat's: no limit.
  const auto row_of = [&](const std::string& name) {
    const auto at = r.payload.find("\n" + name + " ");
    return at == std::string::npos ? std::string() : r.payload.substr(at + 1, r.payload.find('\n', at + 1) - at - 1);
  };
  CHECK_THAT(row_of("console"), Catch::Contains(" 4194304 "));
  CHECK_FALSE(row_of("heartbeat").empty());
  CHECK_THAT(row_of("heartbeat"), !Catch::Contains("4194304"));

  r = c->request("--json mem");
  INFO(r.payload);
  const auto console_at = r.payload.find("{\"name\":\"console\"");
  REQUIRE(console_at != std::string::npos);
  const std::string console = r.payload.substr(console_at, r.payload.find('}', console_at) - console_at + 1);
  CHECK_THAT(console, Catch::Contains("\"tracked\":true") && Catch::Contains("\"limit_bytes\":4194304") &&
                          Catch::Contains("\"leak_suspected\":false") && Catch::Contains("\"refusals\":0"));
  // It holds something (its sockets' buffers, its sessions) and never more than its high-water mark.
  const auto number = [&](const std::string& key) {
    const auto at = console.find("\"" + key + "\":");
    return at == std::string::npos ? -1 : std::stoll(console.substr(at + key.size() + 3));
  };
  CHECK(number("held_bytes") > 0);
  CHECK(number("held_bytes") <= number("high_bytes"));
  CHECK(number("high_bytes") < 4 * 1024 * 1024);
}

TEST_CASE("console: log tail streams live lines until the client sends a line, which is not run", "[console]") {
  ConsoleBox box;
  box.start();
  auto c = box.client();
  c->send("log tail -n 0 tap\n");
  auto open = c->frame();
  REQUIRE(open);
  CHECK(open->kind == FrameKind::data);
  CHECK(open->payload.empty());
  // Live lines of tap arrive (heartbeat publishes every 20 ms, tap logs them).
  std::string seen;
  for (int i = 0; i < 100 && seen.find("[tap] t.uptime_s") == std::string::npos; ++i) {
    auto f = c->frame();
    REQUIRE(f);
    REQUIRE(f->kind == FrameKind::data);
    seen += f->payload;
  }
  CHECK(seen.find("[tap] t.uptime_s") != std::string::npos);
  c->send("services\n");  // ends the stream; not run
  for (;;) {
    auto f = c->frame();
    REQUIRE(f);
    if (f->kind == FrameKind::data) continue;
    CHECK(f->kind == FrameKind::ok);
    CHECK(f->payload.empty());
    break;
  }
  // The session goes on; a blank line gets no reply, the next request does.
  c->send("\n");
  CHECK(c->request("console").payload.find("requests:") != std::string::npos);
}

TEST_CASE("console: a client that stops reading is dropped, the loop and other clients carry on", "[console]") {
  // Heartbeat every 1 ms: tap logs 1000 lines/s for the tail to carry.
  ConsoleBox box("output_buffer = 4096\n", "1ms");
  box.start();
  // The silent client: asks for the live log, then never reads again.
  ConsoleClient silent(box.socket());
  REQUIRE(silent.frame());
  silent.send("log tail\n");

  auto watcher = box.client();
  bool dropped = false;
  double first_uptime = -1, last_uptime = -1;
  for (int i = 0; i < 3000 && !dropped; ++i) {
    dropped = watcher->request("--json console").payload.find("\"dropped\":1,") != std::string::npos;
    const auto r = watcher->request("--json read t.uptime_s");
    if (r.kind == FrameKind::ok) {
      const auto at = r.payload.find("\"value\":");
      last_uptime = std::stod(r.payload.substr(at + 8));
      if (first_uptime < 0) first_uptime = last_uptime;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(dropped);
  // Meanwhile the loop kept its timers: heartbeat went on publishing.
  CHECK(last_uptime > first_uptime);
  // The dropped client's socket is closed by the server: what it still
  // holds is read, then EOF (each wait bounded).
  while (silent.frame(std::chrono::seconds(5))) {
  }
  CHECK(silent.eof());
  CHECK(watcher->request("services").kind == FrameKind::ok);
}

TEST_CASE("console: an idle client is closed after idle_timeout with a last frame saying so", "[console]") {
  ConsoleBox box("idle_timeout = \"200ms\"\n");
  box.start();
  auto c = box.client();
  auto last = c->frame(std::chrono::seconds(20));
  REQUIRE(last);
  CHECK(last->kind == FrameKind::error);
  CHECK(last->payload == "closing: idle too long\n");
  CHECK_FALSE(c->frame(std::chrono::seconds(20)));
  CHECK(c->eof());
}

TEST_CASE("console: past max_clients a client is turned away with a reason", "[console]") {
  ConsoleBox box("max_clients = 2\n");
  box.start();
  // The start-up probe's session may still be closing: wait until `a` is alone.
  std::unique_ptr<ConsoleClient> a;
  for (int i = 0; i < 500 && !a; ++i) {
    auto candidate = std::make_unique<ConsoleClient>(box.socket());
    auto hello = candidate->frame();
    if (hello && hello->kind == FrameKind::hello) a = std::move(candidate);
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(a);
  REQUIRE(eventually_contains(*a, "--json console", "\"clients\":1,"));
  auto b = box.client();
  ConsoleClient c(box.socket());
  auto f = c.frame();
  REQUIRE(f);
  CHECK(f->kind == FrameKind::refused);
  CHECK(f->payload == "weftd has too many console clients (2, [service.console] max_clients); try again later\n");
  b.reset();
  // Once one leaves, a new client gets in (bounded retries: the server notices the close first).
  bool admitted = false;
  for (int i = 0; i < 500 && !admitted; ++i) {
    ConsoleClient d(box.socket());
    auto hello = d.frame();
    admitted = hello && hello->kind == FrameKind::hello;
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(admitted);
}

TEST_CASE("console: a stale socket of a dead weftd is replaced, the new one is mode 0600", "[console]") {
  ConsoleBox box;
  {
    // What a killed weftd leaves: a socket file nobody listens on.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, box.socket().c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
  }
  box.start();
  struct stat st{};
  REQUIRE(::stat(box.socket().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(box.client()->request("services").kind == FrameKind::ok);
  box.stop();
  CHECK_FALSE(std::filesystem::exists(box.socket()));  // removed on a clean stop
}

TEST_CASE("console: config re-serialises the document with secrets masked", "[console]") {
  const auto config = Config::parse(
      "[weftd]\nlog_level = \"info\"\n\n[store]\npassword = \"hunter2\"\nretention = \"30d\"\n"
      "[upload]\napi_token = \"abc\"\nport = 1883\nratio = 0.5\ntls = true\ntopics = [\"a\", \"b\"]\n"
      "weights = [1, 2.5]\nsim = { model = \"sine\", min = 60 }\n"
      "[[serial]]\nname = \"rs485\"\n[[serial]]\nname = \"rs232\"\n",
      "secrets.toml");
  const std::string text = apps::render_config(config.root());
  CHECK(text == "[weftd]\nlog_level = \"info\"\n\n[store]\npassword = \"********\"\nretention = \"30d\"\n\n"
                "[upload]\napi_token = \"********\"\nport = 1883\nratio = 0.5\ntls = true\ntopics = [ \"a\", \"b\" ]\n"
                "weights = [ 1, 2.5 ]\n\n[upload.sim]\nmodel = \"sine\"\nmin = 60\n\n"
                "[[serial]]\nname = \"rs485\"\n\n[[serial]]\nname = \"rs232\"\n");
  CHECK(text.find("hunter2") == std::string::npos);
  // The output is TOML that parses again.
  CHECK_NOTHROW(Config::parse(text, "rendered.toml"));
}
