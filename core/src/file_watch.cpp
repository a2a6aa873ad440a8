// FileWatch (file_watch.hpp): an inotify fd on the file's directory, read
// non-blocking when Asio says it is readable, events filtered to the file's
// name, bursts coalesced on the runtime's timer queue. The fd is created
// and the watch added in open() (a path lookup: off the loop); the Asio
// descriptor is bound to the executor of the first changed() call.
#include "weft/core/file_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include "weft/core/timer_queue.hpp"
#include "weft/core/timers.hpp"

namespace weft {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// The directory events that concern the file (by name) or the directory itself.
constexpr std::uint32_t kFileEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM;
constexpr std::uint32_t kDirGone = IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED;

std::pair<std::string, std::string> split_path(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return {".", path};
  if (slash == 0) return {"/", path.substr(1)};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

std::string file_watch_error_message(int err, const char* doing, const std::string& path, const std::string& dir) {
  const std::string head = "cannot watch " + path + " for changes (" + doing + "): ";
  switch (err) {
    case EMFILE:
      return head +
             "the inotify instance limit (fs.inotify.max_user_instances) or this process's open-file limit is reached; "
             "raise it (sysctl fs.inotify.max_user_instances=256, or LimitNOFILE=), or set [weftd] watch_config = false";
    case ENFILE: return head + "the system's open-file limit is reached (fs.file-max); close files or raise it";
    case ENOSPC:
      return head +
             "the inotify watch limit (fs.inotify.max_user_watches) is reached; raise it "
             "(sysctl fs.inotify.max_user_watches=65536) or stop other watchers, or set [weftd] watch_config = false";
    case ENOMEM: return head + "out of kernel memory for inotify";
    case ENOENT: return head + "its directory " + dir + " does not exist; create it or fix the config file's path";
    case ENOTDIR: return head + dir + " is not a directory; fix the config file's path";
    case EACCES:
      return head + "no permission to read the directory " + dir + "; give weftd's user read access to it";
    default: return head + std::strerror(err);
  }
}

struct FileWatch::Impl {
  TimerQueue* timers = nullptr;
  FileWatchOptions options;
  std::string name;  // the file's name in its directory
  int fd = -1;       // owned here until `stream` takes it
  int wd = -1;
  std::optional<asio::posix::stream_descriptor> stream;  // bound at the first changed()

  // The burst being settled.
  bool settling = false;
  bool exists = true;  // after the burst's last event on the name
  FileChange burst;

  ~Impl() { close(); }

  void close() noexcept {
    if (stream) {
      boost::system::error_code ignored;
      stream->close(ignored);
      stream.reset();
    } else if (fd >= 0) {
      ::close(fd);
    }
    fd = -1;
  }
  bool open() const noexcept { return fd >= 0; }

  void note(MonoTime now) {
    if (!settling) {
      settling = true;
      burst = FileChange{};
      burst.first = now;
    }
    burst.last = now;
    ++burst.events;
  }

  // Reads every queued event (the fd is non-blocking). Throws FileWatchError
  // when the directory went away or the read fails.
  void drain(const std::string& path, const std::string& dir) {
    alignas(inotify_event) char buf[8192];
    for (;;) {
      const ssize_t got = ::read(fd, buf, sizeof buf);
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        const int err = errno;
        close();  // the watch ends with its error: a later changed() says it is closed
        throw FileWatchError(file_watch_error_message(err, "read", path, dir));
      }
      if (got == 0) return;
      const MonoTime now = timers->clock().now();
      bool gone = false;
      for (ssize_t at = 0; at < got;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        if (e->mask & IN_Q_OVERFLOW) {  // events were lost: the file may have changed
          note(now);
          burst.overflow = true;
          continue;
        }
        if (e->wd != wd) continue;
        if (e->mask & kDirGone) {
          gone = true;
          continue;
        }
        if (e->len == 0 || name != e->name) continue;  // another file in the directory
        if (!(e->mask & kFileEvents)) continue;
        exists = (e->mask & (IN_DELETE | IN_MOVED_FROM)) == 0;
        note(now);
      }
      if (gone) {
        close();  // the kernel dropped the watch (IN_IGNORED): nothing would ever come again
        throw FileWatchError("stopped watching " + path + " for changes: its directory " + dir +
                             " was removed, moved or unmounted; recreate it and restart weftd (or reload) to watch again");
      }
    }
  }
};

FileWatch::FileWatch(std::string path, std::string dir, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), dir_(std::move(dir)), impl_(std::move(impl)) {}
FileWatch::FileWatch(FileWatch&&) noexcept = default;
FileWatch& FileWatch::operator=(FileWatch&&) noexcept = default;
FileWatch::~FileWatch() = default;

FileWatch FileWatch::open(const std::string& path, TimerQueue& timers, FileWatchOptions options) {
  auto [dir, name] = split_path(path);
  if (name.empty() || name == "." || name == "..")
    throw FileWatchError("cannot watch " + path + " for changes: it does not name a file");
  if (options.debounce < Duration::zero() || options.max_delay < options.debounce)
    throw FileWatchError("cannot watch " + path + ": debounce must be >= 0 and max_delay >= debounce");
  auto impl = std::make_unique<Impl>();
  impl->timers = &timers;
  impl->options = options;
  impl->name = name;
  impl->fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (impl->fd < 0) throw FileWatchError(file_watch_error_message(errno, "inotify_init1", path, dir));
  impl->wd = ::inotify_add_watch(impl->fd, dir.c_str(), kFileEvents | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
  if (impl->wd < 0) throw FileWatchError(file_watch_error_message(errno, "inotify_add_watch", path, dir));
  return FileWatch(path, std::move(dir), std::move(impl));
}

bool FileWatch::is_open() const noexcept { return impl_ && impl_->open(); }

void FileWatch::close() noexcept {
  if (impl_) impl_->close();
}

asio::awaitable<FileChange> FileWatch::changed() {
  if (!is_open())
    throw FileWatchError("the watch of " + path_ + " is closed (it was cancelled or failed); open a new one");
  Impl& w = *impl_;
  if (!w.stream) {
    w.stream.emplace(co_await asio::this_coro::executor, w.fd);
  }
  // Any cancellation closes: the stop of the owner, or the loser of a race.
  auto end_if_cancelled = [&](asio::cancellation_type cancelled) {
    if (cancelled == asio::cancellation_type::none) return;
    w.close();
    throw boost::system::system_error(asio::error::operation_aborted, "file watch of " + path_ + " cancelled");
  };
  for (;;) {
    if (!w.settling) {
      auto [ec] = co_await w.stream->async_wait(asio::posix::descriptor_base::wait_read, asio::as_tuple(asio::use_awaitable));
      end_if_cancelled((co_await asio::this_coro::cancellation_state).cancelled());
      if (ec == asio::error::operation_aborted) end_if_cancelled(asio::cancellation_type::terminal);
      if (ec) throw FileWatchError(file_watch_error_message(ec.value(), "wait", path_, dir_));
      w.drain(path_, dir_);
      continue;
    }
    const MonoTime deadline = std::min(w.burst.last + w.options.debounce, w.burst.first + w.options.max_delay);
    auto race = co_await (w.stream->async_wait(asio::posix::descriptor_base::wait_read, asio::as_tuple(asio::use_awaitable)) ||
                          expires_at(*w.timers, deadline));
    end_if_cancelled((co_await asio::this_coro::cancellation_state).cancelled());
    if (race.index() == 0) {
      const auto [ec] = std::get<0>(race);
      if (ec == asio::error::operation_aborted) end_if_cancelled(asio::cancellation_type::terminal);
      if (ec) throw FileWatchError(file_watch_error_message(ec.value(), "wait", path_, dir_));
      w.drain(path_, dir_);
      continue;
    }
    if (!std::get<1>(race)) end_if_cancelled(asio::cancellation_type::terminal);  // the timer was cancelled
    // The timer won, but an event may have come in the same instant, queued
    // behind it: one more look, or it would be a second change of its own.
    const std::uint64_t seen = w.burst.events;
    w.drain(path_, dir_);
    if (w.burst.events != seen && w.burst.last - w.burst.first < w.options.max_delay) continue;
    w.settling = false;
    if (!w.exists && !w.burst.overflow) continue;  // removed and not back: wait for its return
    co_return w.burst;
  }
}

}  // namespace weft
