// `weftctl reload` (reload.hpp). A reload is asked for in two steps, so
// that one which restarts the console (a [service.console] key changed)
// still reaches its caller: `reload --no-wait` queues it and replies at
// once with its id; `reload status ID` waits for that id's outcome. If the
// connection drops meanwhile (the console is being restarted), weftctl
// reconnects, every 50 ms, and asks again, until the outcome comes, the
// --timeout passes, or weftd itself is gone (a pidfd of the process that
// accepted the first connection: no guessing from a missing socket).
// `--dry-run` is one request on one connection, as before.
#include "reload.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "client.hpp"
#include "repl.hpp"

namespace weftctl {
namespace {

using Clock = std::chrono::steady_clock;

// Watches weftd's process: exited() is true once it is gone. A pidfd where
// the kernel has them (Linux >= 5.3: immune to pid reuse), else kill(pid, 0).
class ProcessWatch {
public:
  explicit ProcessWatch(int pid) : pid_(pid) {
#ifdef SYS_pidfd_open
    if (pid_ > 0) fd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
#endif
  }
  ~ProcessWatch() {
    if (fd_ >= 0) ::close(fd_);
  }
  ProcessWatch(const ProcessWatch&) = delete;
  ProcessWatch& operator=(const ProcessWatch&) = delete;

  bool exited() const {
    if (pid_ <= 0) return false;  // unknown: only the timeout ends the wait
    if (fd_ >= 0) {
      pollfd p{fd_, POLLIN, 0};
      return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
    }
    return ::kill(pid_, 0) != 0 && errno == ESRCH;
  }
  int pid() const noexcept { return pid_; }

private:
  int pid_;
  int fd_ = -1;
};

struct Deadline {
  std::optional<Clock::time_point> at;  // none: --timeout 0, wait forever
  explicit Deadline(double timeout_s) {
    if (timeout_s > 0) at = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  }
  bool passed() const { return at && Clock::now() >= *at; }
  // Seconds left for one request (Client: 0 would mean forever, so at least a little).
  double left() const {
    if (!at) return 0;
    return std::max(0.001, std::chrono::duration<double>(*at - Clock::now()).count());
  }
};

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

void print_reply(const Reply& r, bool json) {
  std::FILE* out = (r.ok || json) ? stdout : stderr;
  std::fwrite(r.text.data(), 1, r.text.size(), out);
  if (json && (r.text.empty() || r.text.back() != '\n')) std::fputc('\n', out);
  std::fflush(out);
}

// "reload 7: queued; ..." -> 7; 0 if the reply is not that.
std::uint64_t queued_id(const std::string& text) {
  const std::string head = "reload ";
  if (!text.starts_with(head)) return 0;
  std::uint64_t id = 0;
  std::size_t i = head.size();
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && i < head.size() + 19; ++i) id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
  return text.compare(i, 9, ": queued;") == 0 ? id : 0;
}

// The reply of `reload status ID` is that transaction's outcome (as the
// console's `reload` replies), not "unknown": text "reload ID: ...", JSON
// an object whose first member is "id":ID.
bool is_outcome(const Reply& r, std::uint64_t id, bool json) {
  const std::string head = json ? "{\"id\":" + std::to_string(id) + "," : "reload " + std::to_string(id) + ": ";
  return r.text.starts_with(head);
}

int dry_run(const ReloadRequest& request) {
  const std::string what = "reload --dry-run";
  Client client;
  try {
    client.connect(request.socket);
  } catch (const ConnectError& e) {
    std::fprintf(stderr, "weftctl %s: %s; nothing was reloaded\n", what.c_str(), e.message.c_str());
    return kExitNoConsole;
  }
  try {
    Session session{client, request.json, request.timeout_s};
    return run_one(session, what);
  } catch (const ConnectError& e) {
    std::fprintf(stderr, "weftctl %s: %s before its reply\n", what.c_str(), e.message.c_str());
    return kExitNoConsole;
  }
}

}  // namespace

int reload(const ReloadRequest& request) {
  if (request.dry_run) return dry_run(request);
  const Deadline deadline(request.timeout_s);
  auto client = std::make_unique<Client>();
  try {
    client->connect(request.socket);
  } catch (const ConnectError& e) {
    std::fprintf(stderr, "weftctl reload: %s; nothing was reloaded\n", e.message.c_str());
    return kExitNoConsole;
  }
  const ProcessWatch weftd(client->peer_pid());

  // Step 1: queue it; the reply carries its id.
  std::uint64_t id = 0;
  try {
    const Reply queued = client->request("reload --no-wait", {}, {}, deadline.left());
    if (!queued.ok) {  // no live reload, or a weftd that does not know --no-wait
      print_reply(queued, false);
      return kExitFailed;
    }
    id = queued_id(queued.text);
    if (id == 0) {
      std::fprintf(stderr, "weftctl reload: unexpected reply to 'reload --no-wait' (is weftd older than weftctl?): %s",
                   queued.text.c_str());
      return kExitNoConsole;
    }
  } catch (const ConnectError& e) {
    if (e.why == ConnectError::Why::timeout)
      std::fprintf(stderr,
                   "weftctl reload: no answer from weftd within %s (--timeout); the reload may still be running: its "
                   "outcome is in the log and in `weftctl --exec 'config history'`\n",
                   seconds_text(request.timeout_s).c_str());
    else
      std::fprintf(stderr, "weftctl reload: %s before its reply; whether a reload was queued is in the log and in "
                           "`weftctl --exec 'config history'`\n",
                   e.message.c_str());
    return kExitNoConsole;
  }

  // Step 2: its outcome, asked again on a new connection whenever one drops.
  const std::string status = (request.json ? "--json reload status " : "reload status ") + std::to_string(id);
  for (;;) {
    try {
      const Reply r = client->request(status, {}, {}, deadline.left());
      if (is_outcome(r, id, request.json)) {
        print_reply(r, request.json);
        return r.ok ? kExitOk : kExitFailed;
      }
      // Unknown to weftd (cut short by a stop, or too old): no outcome to report.
      std::fprintf(stderr, "weftctl reload: reload %llu ran, but weftd has no outcome for it: %s",
                   static_cast<unsigned long long>(id), r.text.c_str());
      return kExitNoConsole;
    } catch (const ConnectError& e) {
      if (e.why != ConnectError::Why::closed) {
        std::fprintf(stderr,
                     "weftctl reload: no outcome of reload %llu within %s (--timeout); it may still be running: its "
                     "outcome is in the log and in `weftctl --exec 'config history'`\n",
                     static_cast<unsigned long long>(id), seconds_text(request.timeout_s).c_str());
        return kExitNoConsole;
      }
    }
    // The connection dropped: the console restarts (this reload touches
    // it), or weftd stops. Reconnect until one of the two is clear.
    client.reset();
    for (;;) {
      if (weftd.exited()) {
        std::fprintf(stderr,
                     "weftctl reload: weftd (pid %d) exited before reload %llu's outcome reached weftctl; whether it "
                     "applied is in the log and, after the next start, in `weftctl --exec 'config history'`\n",
                     weftd.pid(), static_cast<unsigned long long>(id));
        return kExitNoConsole;
      }
      if (deadline.passed()) {
        std::fprintf(stderr,
                     "weftctl reload: the connection to weftd dropped during reload %llu and its console did not "
                     "answer again within %s (--timeout; a reload that moves [service.console] socket is not "
                     "followed); its outcome is in the log and in `weftctl --exec 'config history'`\n",
                     static_cast<unsigned long long>(id), seconds_text(request.timeout_s).c_str());
        return kExitNoConsole;
      }
      auto next = std::make_unique<Client>();
      try {
        next->connect(request.socket);
        // Another weftd on the socket (the first exited and was restarted
        // between the check above and this connect) knows nothing of this id.
        if (next->peer_pid() != weftd.pid()) {
          std::fprintf(stderr,
                       "weftctl reload: weftd (pid %d) was replaced by pid %d before reload %llu's outcome reached "
                       "weftctl; whether it applied is in `weftctl --exec 'config history'`\n",
                       weftd.pid(), static_cast<int>(next->peer_pid()), static_cast<unsigned long long>(id));
          return kExitNoConsole;
        }
        client = std::move(next);
        break;
      } catch (const ConnectError&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the console is not back yet
      }
    }
  }
}

}  // namespace weftctl
