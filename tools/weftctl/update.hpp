// `weftctl update PACKAGE.deb`: installs a new weft package with a health
// gate and an automatic rollback (the pattern of RAUC, Mender, greenboot,
// applied to the application). Steps and how each resumes: update.cpp.
// Exit status: 0 committed (--resume: also nothing pending); 1 refused,
// nothing changed; 2 usage; 3 no weftd answers (a fresh update is checked
// against the running one); 4 not healthy, rolled back: the previous
// version runs; 5 not healthy and not rolled back (no package of the
// previous version was kept) or the rollback failed too: look at the box.
#pragma once

#include <string>

namespace weftctl {

inline constexpr int kExitRolledBack = 4;
inline constexpr int kExitUpdateFailed = 5;

struct UpdateRequest {
  std::string package;                 // the new .deb ("" with --resume)
  bool force = false;                  // install even if not newer
  bool resume = false;                 // only resolve a pending update
  bool if_pending = false;             // with resume: a no-op unless a marker exists (the boot unit)
  double lock_wait_s = 0;              // wait this long for another updater's lock (0: refuse at once)
  double settle_s = -1;                // -1: the running weftd's [weftd] update_settle (default 60 s)
  double start_timeout_s = 150;        // restart step's end to every service ready (weftd.service TimeoutStartSec)
  double install_timeout_s = 600;
  std::string socket;
  std::string install_cmd = "dpkg -i";  // gets the package path appended
  // reset-failed first: weftd.service keeps systemd's start rate limit (5
  // starts in 10 s), which a crash-looping new version plus the install's
  // and the update's own restarts use up; past it `systemctl restart` is
  // refused and a rollback would leave the box down. reset-failed flushes
  // the count in any unit state.
  std::string restart_cmd = "systemctl reset-failed weftd; systemctl restart weftd";
  std::string version_cmd = "dpkg-query -W -f='${Version}' weft";  // prints the installed version
  std::string data_dir;                // "": the running weftd's [weftd] data_dir, else /var/lib/weft
  std::string rollback_package;        // the installed version's .deb, for a first update
  std::string apt_archives = "/var/cache/apt/archives";
};

int update(const UpdateRequest& request);

}  // namespace weftctl
