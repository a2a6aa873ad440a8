// The config history file (reload_history.hpp): TOML written here, read
// back through weft::Config (whose errors say file:line:col), replaced
// whole by atomic_replace. A process-wide mutex serialises the
// read-modify-write of reserve and append.
#include "weft/apps/reload/reload_history.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "weft/apps/json/json_text.hpp"
#include "weft/core/atomic_file.hpp"
#include "weft/core/config.hpp"

namespace weft::apps {
namespace {

constexpr std::int64_t kVersion = 1;
constexpr std::size_t kMaxFileBytes = 4 << 20;  // 20 bounded entries are far less: more is damage

std::mutex g_history_mutex;

// A TOML basic string: JSON's string escapes are a subset of TOML's (quote, backslash,
// \n \r \t \uXXXX, control characters and DEL escaped, invalid UTF-8
// replaced by U+FFFD, which TOML requires to be valid).
std::string toml_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

std::string cut(std::string_view text) {
  if (text.size() <= kMaxText) return std::string(text);
  std::size_t end = kMaxText;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // not inside a UTF-8 sequence
  return std::string(text.substr(0, end)) + " [... " + std::to_string(text.size() - end) + " more bytes]";
}

std::string string_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_string(items[i]);
  return out + "]";
}

// Keeps what the file keeps, so that what is appended equals what is read back.
ReloadOutcome bounded(const ReloadOutcome& o) {
  ReloadOutcome b = o;
  auto bound_list = [](std::vector<std::string>& items, std::size_t max) {
    if (items.size() > max) {
      const std::size_t more = items.size() - max;
      items.resize(max);
      items.push_back("[... and " + std::to_string(more) + " more]");
    }
    for (auto& s : items) s = cut(s);
  };
  bound_list(b.errors, kMaxErrors);
  bound_list(b.live, kMaxErrors);
  bound_list(b.warnings, kMaxErrors);
  if (b.services.size() > kMaxServices) b.services.resize(kMaxServices);
  for (auto& s : b.services) s.error = cut(s.error);
  b.file = cut(b.file);
  return b;
}

struct FileText {
  int err = 0;  // errno; ENOENT: no history yet
  std::string text;
};

FileText read_whole(const std::string& path) {
  FileText out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.err = errno;
    return out;
  }
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.err = errno;
      break;
    }
    if (n == 0) break;
    out.text.append(buf, static_cast<std::size_t>(n));
    if (out.text.size() > kMaxFileBytes) {
      out.err = EFBIG;
      break;
    }
  }
  ::close(fd);
  return out;
}

// The ids a damaged file still shows ("id = 41", "next_id = 43" lines): the
// new history continues after them, so no id is given twice.
std::uint64_t salvage_next_id(const std::string& text) {
  std::uint64_t next = 1;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    unsigned long long v = 0;
    char tail = 0;
    if (std::sscanf(line.c_str(), " next_id = %llu %c", &v, &tail) == 1) next = std::max<std::uint64_t>(next, v);
    else if (std::sscanf(line.c_str(), " id = %llu %c", &v, &tail) == 1) next = std::max<std::uint64_t>(next, v + 1);
  }
  return next;
}

ReloadHistory load_locked(const std::string& data_dir, HistoryDamage damage) {
  const std::string path = reload_history_path(data_dir);
  const FileText file = read_whole(path);
  if (file.err == ENOENT) return {};
  std::string problem;
  if (file.err != 0) {
    problem = file.err == EFBIG ? "it is larger than " + std::to_string(kMaxFileBytes) + " bytes"
                                : std::string("cannot read it: ") + std::strerror(file.err);
  } else {
    try {
      return parse_reload_history(file.text, path);
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  ReloadHistory fresh;
  fresh.next_id = salvage_next_id(file.text);
  const std::string head = "the reload history " + path + " is damaged (" + problem + ")";
  if (damage == HistoryDamage::leave) {
    fresh.warning = head + "; weftd moves it aside at the next reload and starts a new history";
    return fresh;
  }
  const std::string aside = path + ".damaged";
  if (::rename(path.c_str(), aside.c_str()) == 0)
    fresh.warning = head + "; moved it to " + aside + " and started a new history (ids continue from " +
                    std::to_string(fresh.next_id) + ")";
  else
    fresh.warning = head + "; could not move it to " + aside + " (" + std::strerror(errno) +
                    "); starting a new history, which replaces it";
  return fresh;
}

ReloadHistoryWrite write_locked(const std::string& data_dir, const ReloadHistory& history, ReloadHistoryWrite out) {
  const AtomicWriteError e = atomic_replace(reload_history_path(data_dir), format_reload_history(history));
  if (e) out.error = "cannot write the reload history: " + e.message();
  return out;
}

// FNV-1a 64 of the text after the checksum line: a file cut short (at a
// table boundary it would still parse) or altered is damage, not history.
std::string fnv1a64_hex(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

constexpr std::string_view kChecksumKey = "checksum = \"";

// Checks the checksum line; throws std::runtime_error saying what is wrong.
void verify_checksum(std::string_view text) {
  std::size_t at = 0;
  while (at < text.size() && text[at] == '#') {  // the leading comment lines
    const std::size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  if (text.substr(at, kChecksumKey.size()) != kChecksumKey)
    throw std::runtime_error("no checksum line where weftd writes one: cut short, or not written by weftd");
  const std::size_t nl = text.find('\n', at);
  const std::string_view line = text.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
  const std::string_view want = line.substr(kChecksumKey.size(), 16);
  const std::string got = fnv1a64_hex(nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1));
  if (want != got || line.size() != kChecksumKey.size() + 17)
    throw std::runtime_error("checksum mismatch (the file says " + std::string(want) + ", its content is " + got +
                             "): cut short or altered");
}

std::int64_t as_int(std::uint64_t v) { return static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX)); }

}  // namespace

bool parse_reload_trigger(std::string_view text, ReloadTrigger& out) {
  for (ReloadTrigger t : {ReloadTrigger::signal, ReloadTrigger::console, ReloadTrigger::watch, ReloadTrigger::remote})
    if (to_string(t) == text) {
      out = t;
      return true;
    }
  return false;
}

bool parse_reload_result(std::string_view text, ReloadResult& out) {
  for (ReloadResult r : {ReloadResult::applied, ReloadResult::unchanged, ReloadResult::refused, ReloadResult::rolled_back,
                         ReloadResult::rollback_failed, ReloadResult::interrupted})
    if (to_string(r) == text) {
      out = r;
      return true;
    }
  return false;
}

std::string reload_history_path(const std::string& data_dir) {
  if (data_dir.empty() || data_dir.back() == '/') return data_dir + std::string(kReloadHistoryFile);
  return data_dir + "/" + std::string(kReloadHistoryFile);
}

std::string format_reload_history(const ReloadHistory& history) {
  std::string t = "version = " + std::to_string(kVersion) + "\n";
  t += "next_id = " + std::to_string(as_int(history.next_id)) + "\n";
  for (const ReloadOutcome& o : history.entries) {  // bounded by append_reload_history
    t += "\n[[reload]]\n";
    t += "id = " + std::to_string(as_int(o.id)) + "\n";
    t += "started_unix_ms = " + std::to_string(o.started_unix_ms) + "\n";
    t += "took_us = " + std::to_string(o.took_us) + "\n";
    t += "trigger = " + toml_string(to_string(o.trigger)) + "\n";
    t += "result = " + toml_string(to_string(o.result)) + "\n";
    t += "file = " + toml_string(o.file) + "\n";
    t += "config_hash = " + toml_string(o.config_hash) + "\n";
    t += "errors = " + string_list(o.errors) + "\n";
    t += "live = " + string_list(o.live) + "\n";
    if (!o.warnings.empty()) t += "warnings = " + string_list(o.warnings) + "\n";
    for (const ReloadServiceStep& s : o.services) {
      t += "  [[reload.service]]\n";
      t += "  service = " + toml_string(s.service) + "\n";
      t += "  action = " + toml_string(s.action) + "\n";
      t += std::string("  ok = ") + (s.ok ? "true" : "false") + "\n";
      t += "  error = " + toml_string(s.error) + "\n";
    }
  }
  return "# weftd's reload history: the last " + std::to_string(kReloadHistoryKeep) +
         " reload transactions, oldest first (console: `config history`).\n"
         "# Written by weftd, replaced whole; the checksum covers every byte after its line.\n" +
         std::string(kChecksumKey) + fnv1a64_hex(t) + "\"\n" + t;
}

ReloadHistory parse_reload_history(std::string_view text, const std::string& source_name) {
  verify_checksum(text);
  const Config doc = Config::parse(text, source_name);
  const ConfigSection root = doc.root();
  (void)root.string("checksum", "");
  if (!root.has("version")) root.fail("version", "missing: not a reload history file, or a torn one");
  const std::int64_t version = root.integer("version", 0);
  if (version != kVersion)
    root.fail("version", "is " + std::to_string(version) + "; this weftd reads version " + std::to_string(kVersion));
  ReloadHistory h;
  h.next_id = static_cast<std::uint64_t>(root.integer("next_id", 1, 1));
  for (const ConfigSection& e : root.tables("reload")) {
    ReloadOutcome o;
    if (!e.has("id")) e.fail("id", "missing");
    o.id = static_cast<std::uint64_t>(e.integer("id", 0, 1));
    o.started_unix_ms = e.integer("started_unix_ms", 0);
    o.took_us = e.integer("took_us", 0, 0);
    const std::string trigger = e.required_string("trigger");
    if (!parse_reload_trigger(trigger, o.trigger)) e.fail("trigger", "unknown trigger '" + trigger + "'");
    const std::string result = e.required_string("result");
    if (!parse_reload_result(result, o.result)) e.fail("result", "unknown result '" + result + "'");
    o.file = e.string("file", "");
    o.config_hash = e.string("config_hash", "");
    o.errors = e.string_array("errors");
    o.live = e.string_array("live");
    o.warnings = e.string_array("warnings");  // absent in files written before warnings were kept
    for (const ConfigSection& s : e.tables("service")) {
      ReloadServiceStep step;
      step.service = s.required_string("service");
      step.action = s.string("action", "");
      step.ok = s.boolean("ok", true);
      step.error = s.string("error", "");
      o.services.push_back(std::move(step));
    }
    h.next_id = std::max(h.next_id, o.id + 1);
    h.entries.push_back(std::move(o));
  }
  if (h.entries.size() > kReloadHistoryKeep)
    h.entries.erase(h.entries.begin(), h.entries.end() - static_cast<std::ptrdiff_t>(kReloadHistoryKeep));
  return h;
}

ReloadHistory load_reload_history(const std::string& data_dir, HistoryDamage damage) {
  std::lock_guard lock(g_history_mutex);
  return load_locked(data_dir, damage);
}

ReloadHistoryWrite reserve_reload_id(const std::string& data_dir, std::uint64_t at_least, const ReloadOutcome* started) {
  std::lock_guard lock(g_history_mutex);
  ReloadHistory h = load_locked(data_dir, HistoryDamage::move_aside);
  ReloadHistoryWrite out;
  out.id = std::max(h.next_id, at_least);
  out.warning = h.warning;
  h.next_id = out.id + 1;
  if (started != nullptr) {
    ReloadOutcome entry = bounded(*started);
    entry.id = at_least != 0 ? at_least : out.id;  // the transaction keeps its id (a file ahead moves later ones only)
    std::erase_if(h.entries, [&](const ReloadOutcome& e) { return e.id == entry.id; });
    h.entries.push_back(std::move(entry));
    if (h.entries.size() > kReloadHistoryKeep)
      h.entries.erase(h.entries.begin(), h.entries.end() - static_cast<std::ptrdiff_t>(kReloadHistoryKeep));
  }
  return write_locked(data_dir, h, std::move(out));
}

ReloadHistoryWrite append_reload_history(const std::string& data_dir, const ReloadOutcome& outcome) {
  std::lock_guard lock(g_history_mutex);
  ReloadHistory h = load_locked(data_dir, HistoryDamage::move_aside);
  ReloadHistoryWrite out;
  ReloadOutcome entry = bounded(outcome);
  if (entry.id == 0) entry.id = h.next_id;  // no id reserved: the next one (an id 0 would read back as damage)
  out.id = entry.id;
  out.warning = h.warning;
  std::erase_if(h.entries, [&](const ReloadOutcome& e) { return e.id == entry.id; });
  h.entries.push_back(std::move(entry));
  if (h.entries.size() > kReloadHistoryKeep)
    h.entries.erase(h.entries.begin(), h.entries.end() - static_cast<std::ptrdiff_t>(kReloadHistoryKeep));
  h.next_id = std::max(h.next_id, out.id + 1);
  return write_locked(data_dir, h, std::move(out));
}

}  // namespace weft::apps
