// weftctl: the console client of weftd. Interactive on a terminal (line
// editing, history, completion), or `--exec 'services'` for scripts, with
// exit status 0 ok, 1 the command failed, 2 bad usage, 3 weftd not running,
// access refused or the connection lost. `--json` asks for JSON replies.
// `weftctl update PACKAGE.deb` (update.hpp) installs a new weft package
// with a health gate and automatic rollback.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "client.hpp"
#include "reload.hpp"
#include "repl.hpp"
#include "update.hpp"

int main(int argc, char** argv) {
  CLI::App app{"weftctl: the console of a running weftd"};
  app.footer(
      "Exit status: 0 ok; 1 the command failed (for reload: refused or rolled back); 2 bad usage; 3 no answer: "
      "weftd not running, access refused, the connection lost, or no reply within --timeout (for reload: no "
      "outcome, e.g. weftd exited during it; a reload that restarts the console is followed across the "
      "reconnection and reports its real outcome).");
  std::string socket = weftctl::default_socket();
  std::string exec;
  bool json = false;
  double timeout_s = 30;
  app.add_option("-s,--socket", socket, "weftd's console socket (default: $WEFT_SOCKET, "
                                        "$RUNTIME_DIRECTORY/weftd.sock, /run/weft/weftd.sock)");
  app.add_option("-e,--exec", exec, "run one command, print its reply and exit (0 ok, 1 failed, 3 no weftd)");
  app.add_flag("-j,--json", json, "JSON replies (one JSON value per reply; stream chunks one per line)");
  app.add_option("--timeout", timeout_s, "seconds to wait for a reply (streams excepted); 0: forever")
      ->check(CLI::NonNegativeNumber);
  weftctl::ReloadRequest reload;
  CLI::App* reload_cmd = app.add_subcommand(
      "reload", "apply the config file now and wait for the outcome: exit 0 applied (or nothing to change), "
                "1 refused or rolled back, 3 no outcome (no weftd, weftd exited during the reload, or nothing "
                "within --timeout); a reload that restarts the console is followed: weftctl reconnects and asks "
                "for its outcome");
  reload_cmd->add_flag("--dry-run", reload.dry_run, "only check the file and show the plan; nothing is applied");
  CLI::Option* reload_timeout =
      reload_cmd->add_option("--timeout", reload.timeout_s,
                             "seconds to wait for the outcome (default 120: the services it restarts must become ready "
                             "and settle); 0: forever")
          ->check(CLI::NonNegativeNumber);
  weftctl::UpdateRequest update;
  CLI::App* update_cmd = app.add_subcommand(
      "update",
      "install a new weft package with a health gate and automatic rollback (root): checks it, keeps the "
      "running version's package, installs, restarts weftd, waits for every service ready and then no "
      "restart and no stall for the settle window; not healthy: the previous package is reinstalled. Exit 0 "
      "committed, 1 refused (nothing changed), 3 no weftd answers, 4 rolled back, 5 not rolled back or the "
      "rollback failed too");
  update_cmd->add_option("PACKAGE", update.package, "the new weft_VERSION_ARCH.deb");
  update_cmd->add_flag("--force", update.force, "install even if its version is not newer than the installed one");
  update_cmd->add_flag("--resume", update.resume,
                       "only resolve an update a killed updater left pending (every run does that first)");
  update_cmd->add_flag("--if-pending", update.if_pending,
                       "with --resume: do nothing (exit 0, nothing written, no weftd needed) unless an update "
                       "marker exists; what weft-update-resume.service runs at boot");
  update_cmd->add_option("--lock-wait", update.lock_wait_s,
                         "seconds to wait for another weftctl update (its lock) to end, instead of refusing at once "
                         "(default 0)")
      ->check(CLI::NonNegativeNumber);
  update_cmd->add_option("--settle", update.settle_s,
                         "seconds of the settle window (default: the running weftd's [weftd] update_settle, 60 s)")
      ->check(CLI::NonNegativeNumber);
  update_cmd->add_option("--start-timeout", update.start_timeout_s,
                         "seconds from the restart to every service ready (default 150)")
      ->check(CLI::PositiveNumber);
  update_cmd->add_option("--install-cmd", update.install_cmd, "shell command that installs a package; the path is "
                                                              "appended (default: dpkg -i)");
  update_cmd->add_option("--restart-cmd", update.restart_cmd, "shell command that restarts weftd (default: systemctl "
                                                              "reset-failed weftd; systemctl restart weftd)");
  update_cmd->add_option("--version-cmd", update.version_cmd,
                         "shell command that prints the installed weft version (default: dpkg-query -W -f='${Version}' weft)");
  update_cmd->add_option("--data-dir", update.data_dir,
                         "weftd's data dir (default: what the running weftd reports, else /var/lib/weft)");
  update_cmd->add_option("--rollback-package", update.rollback_package,
                         "the installed version's .deb, kept as the rollback point when no earlier update kept one");
  CLI::Option* global_timeout = app.get_option("--timeout");
  try {
    app.parse(argc, argv);
    if (reload_cmd->parsed() && !exec.empty()) throw CLI::ValidationError("reload", "--exec and reload exclude each other");
    if (update_cmd->parsed() && !exec.empty()) throw CLI::ValidationError("update", "--exec and update exclude each other");
    if (update_cmd->parsed() && update.package.empty() != update.resume)
      throw CLI::ValidationError("update", "give PACKAGE.deb, or --resume alone");
    if (update_cmd->parsed() && update.if_pending && !update.resume)
      throw CLI::ValidationError("update", "--if-pending goes with --resume");
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? weftctl::kExitOk : weftctl::kExitUsage;
  }
  if (reload_cmd->parsed()) {
    reload.socket = socket;
    reload.json = json;
    if (reload_timeout->count() == 0 && global_timeout->count() > 0) reload.timeout_s = timeout_s;
    return weftctl::reload(reload);
  }
  if (update_cmd->parsed()) {
    update.socket = socket;
    return weftctl::update(update);
  }
  weftctl::Client client;
  try {
    client.connect(socket);
    weftctl::Session session{client, json, timeout_s};
    if (!exec.empty()) return weftctl::run_one(session, exec);
    if (::isatty(STDIN_FILENO)) return weftctl::repl(session);
    return weftctl::run_lines(session);
  } catch (const weftctl::ConnectError& e) {
    std::fprintf(stderr, "weftctl: %s\n", e.message.c_str());
    return weftctl::kExitNoConsole;
  }
}
