// The update marker and state files (update_record.hpp): rendering,
// tolerant parsing, atomic writes. weftctl compiles this file too.
#include "weft/apps/update/update_record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace weft::update {
namespace {

std::string escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out;
}

std::string unescape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\' || i + 1 == v.size()) {
      out += v[i];
      continue;
    }
    const char n = v[++i];
    out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
  }
  return out;
}

std::vector<std::string> split_tabs(std::string_view v) {
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      out.back() += v[i];
      out.back() += v[++i];
    } else if (v[i] == '\t') {
      out.emplace_back();
    } else {
      out.back() += v[i];
    }
  }
  return out;
}

// key=value lines; repeated keys (history) in order. False on a line that is none.
using Lines = std::vector<std::pair<std::string, std::string>>;
bool split_lines(std::string_view text, Lines& out, std::string& error) {
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      error = "line " + std::to_string(line_no) + ": not key=value";
      return false;
    }
    out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  if (out.empty() || out.front().first != "format" || out.front().second != "1") {
    error = out.empty() ? "empty" : "no format=1 first (a file of another format, or damaged)";
    return false;
  }
  return true;
}

template <class Int>
bool to_int(const std::string& s, Int& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool to_double(const std::string& s, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && !s.empty();
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

template <class T>
Read<T> read_file(const std::string& path) {
  Read<T> r;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno != ENOENT) r.error = path + ": cannot read: " + std::strerror(errno);
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  T value;
  std::string error;
  if (!parse(text.str(), value, error)) {
    r.error = path + ": " + error;
    return r;
  }
  r.value = std::move(value);
  return r;
}

}  // namespace

std::string_view to_string(Step s) noexcept {
  switch (s) {
    case Step::installing: return "installing";
    case Step::restarting: return "restarting";
    case Step::settling: return "settling";
    case Step::rolling_back: return "rolling-back";
    case Step::committing: return "committing";
  }
  return "?";
}

std::optional<Step> parse_step(std::string_view s) noexcept {
  for (Step step : {Step::installing, Step::restarting, Step::settling, Step::rolling_back, Step::committing})
    if (to_string(step) == s) return step;
  return std::nullopt;
}

std::string render(const Pending& p) {
  std::string out = "format=1\n# a pending update, written by weftctl update before each step; "
                    "`weftctl update --resume` resolves it\n";
  auto put = [&](const char* key, const std::string& value) { out += std::string(key) + "=" + escape(value) + "\n"; };
  put("step", std::string(to_string(p.step)));
  put("from_version", p.from_version);
  put("from_package", p.from_package);
  put("from_build_id", p.from_build_id);
  put("to_version", p.to_version);
  put("to_package", p.to_package);
  put("to_build_id", p.to_build_id);
  put("why", p.why);
  put("updater_pid", std::to_string(p.updater_pid));
  put("started_unix_ms", std::to_string(p.started_unix_ms));
  put("install_cmd", p.install_cmd);
  put("restart_cmd", p.restart_cmd);
  put("version_cmd", p.version_cmd);
  put("socket", p.socket);
  put("settle_s", number(p.settle_s));
  put("start_timeout_s", number(p.start_timeout_s));
  return out;
}

bool parse(std::string_view text, Pending& out, std::string& error) {
  Lines lines;
  if (!split_lines(text, lines, error)) return false;
  std::map<std::string, std::string> kv;
  for (auto& [k, v] : lines) kv[k] = unescape(v);
  const auto step = parse_step(kv["step"]);
  if (!step) {
    error = "step '" + kv["step"] + "' is none of installing, restarting, settling, rolling-back, committing";
    return false;
  }
  out.step = *step;
  out.from_version = kv["from_version"];
  out.from_package = kv["from_package"];
  out.from_build_id = kv["from_build_id"];
  out.to_version = kv["to_version"];
  out.to_package = kv["to_package"];
  out.to_build_id = kv["to_build_id"];
  out.why = kv["why"];
  out.install_cmd = kv["install_cmd"];
  out.restart_cmd = kv["restart_cmd"];
  out.version_cmd = kv["version_cmd"];
  out.socket = kv["socket"];
  if (out.to_version.empty() || out.install_cmd.empty() || out.restart_cmd.empty()) {
    error = "to_version, install_cmd or restart_cmd is missing (a file cut short?)";
    return false;
  }
  if (!to_int(kv["updater_pid"], out.updater_pid) || !to_int(kv["started_unix_ms"], out.started_unix_ms) ||
      !to_double(kv["settle_s"], out.settle_s) || !to_double(kv["start_timeout_s"], out.start_timeout_s)) {
    error = "updater_pid, started_unix_ms, settle_s or start_timeout_s is not a number";
    return false;
  }
  return true;
}

std::string render(const State& s) {
  std::string out = "format=1\n# what weftctl update committed; update = started_unix_ms, took_ms, from, to, "
                    "result, why (oldest first)\n";
  auto put = [&](const char* key, const std::string& value) { out += std::string(key) + "=" + escape(value) + "\n"; };
  put("current_version", s.current_version);
  put("previous_version", s.previous_version);
  put("previous_package", s.previous_package);
  for (const Outcome& o : s.history)
    out += "update=" + std::to_string(o.started_unix_ms) + "\t" + std::to_string(o.took_ms) + "\t" +
           escape(o.from_version) + "\t" + escape(o.to_version) + "\t" + escape(o.result) + "\t" + escape(o.why) + "\n";
  return out;
}

bool parse(std::string_view text, State& out, std::string& error) {
  Lines lines;
  if (!split_lines(text, lines, error)) return false;
  for (auto& [k, v] : lines) {
    if (k == "current_version") out.current_version = unescape(v);
    else if (k == "previous_version") out.previous_version = unescape(v);
    else if (k == "previous_package") out.previous_package = unescape(v);
    else if (k == "update") {
      const auto f = split_tabs(v);
      Outcome o;
      if (f.size() != 6 || !to_int(f[0], o.started_unix_ms) || !to_int(f[1], o.took_ms)) {
        error = "an update= line without its 6 fields";
        return false;
      }
      o.from_version = unescape(f[2]);
      o.to_version = unescape(f[3]);
      o.result = unescape(f[4]);
      o.why = unescape(f[5]);
      out.history.push_back(std::move(o));
    }
  }
  if (out.history.size() > kHistoryKeep)
    out.history.erase(out.history.begin(), out.history.end() - static_cast<std::ptrdiff_t>(kHistoryKeep));
  return true;
}

std::string update_dir(const std::string& data_dir) { return data_dir + "/" + std::string(kDirName); }

std::string package_file_name(const std::string& version, const std::string& arch) {
  // dpkg's file names drop the epoch ("1:2.0-1" -> weft_2.0-1_amd64.deb)
  const std::size_t colon = version.find(':');
  return "weft_" + (colon == std::string::npos ? version : version.substr(colon + 1)) + "_" + arch + ".deb";
}

Read<Pending> read_pending(const std::string& dir) { return read_file<Pending>(dir + "/" + std::string(kPendingFile)); }
Read<State> read_state(const std::string& dir) { return read_file<State>(dir + "/" + std::string(kStateFile)); }

AtomicWriteError write_pending(const std::string& dir, const Pending& p) {
  return atomic_replace(dir + "/" + std::string(kPendingFile), render(p));
}
AtomicWriteError write_state(const std::string& dir, const State& s) {
  return atomic_replace(dir + "/" + std::string(kStateFile), render(s));
}

AtomicWriteError remove_pending(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kPendingFile);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return {errno, "remove", path};
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return {errno, "open the directory", dir};
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return {e, "fsync the directory of", path};
  return {};
}

std::string status_note(const std::optional<State>& state, const std::optional<Pending>& pending) {
  if (pending)
    return pending->from_version + " -> " + pending->to_version + " pending (" + std::string(to_string(pending->step)) +
           ")";
  if (!state || state->history.empty()) return {};
  const Outcome& o = state->history.back();
  std::string note = o.from_version + " -> " + o.to_version + " " + o.result;
  if (!o.why.empty()) {
    std::string why = o.why.substr(0, o.why.find('\n'));
    if (why.size() > 100) {
      why.resize(97);  // resize, not substr + "...": GCC 12's -Warray-bounds false positive
      why += "...";
    }
    note += ": " + why;
  }
  return note;
}

}  // namespace weft::update
