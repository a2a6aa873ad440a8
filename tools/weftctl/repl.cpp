// weftctl's interactive loop (repl.hpp). libedit's readline interface is
// used (BSD licence): readline(), add_history, read/write_history and
// rl_attempted_completion_function. Completion asks weftd for candidates
// for the word under the cursor, given the words before it.
#include "repl.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <vector>

#include <editline/readline.h>

namespace weftctl {
namespace {

std::atomic<bool> g_interrupted{false};
Session* g_session = nullptr;          // for the completion callbacks (C interface)
std::vector<std::string> g_candidates;  // of the completion in progress
std::size_t g_next = 0;

void on_sigint(int) { g_interrupted = true; }

// SIGINT sets a flag for the duration of a request (not restarted, so poll returns).
struct InterruptScope {
  struct sigaction old{};
  InterruptScope() {
    g_interrupted = false;
    struct sigaction sa{};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old);
  }
  ~InterruptScope() { ::sigaction(SIGINT, &old, nullptr); }
};

std::string quote(const std::string& word) {
  if (!word.empty() && word.find_first_of(" \t\"\\") == std::string::npos) return word;
  std::string out = "\"";
  for (char c : word) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::vector<std::string> words_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

char* next_candidate(const char* text, int state) {
  if (state == 0) g_next = 0;
  const std::size_t len = std::strlen(text);
  while (g_next < g_candidates.size()) {
    const std::string& c = g_candidates[g_next++];
    if (c.compare(0, len, text) == 0) return ::strdup(c.c_str());
  }
  return nullptr;
}

char** complete(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  g_candidates.clear();
  if (g_session == nullptr) return nullptr;
  std::string request = "complete";
  for (const auto& w : words_of(std::string(rl_line_buffer, static_cast<std::size_t>(start))))
    request += " " + quote(w);
  try {
    const Reply r = g_session->client.request(request, {}, {}, 5);
    if (r.ok) g_candidates = words_of(r.text);
  } catch (const ConnectError&) {
    return nullptr;  // the next command reports the lost connection
  }
  return rl_completion_matches(text, next_candidate);
}

std::string history_path() {
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : ".") + "/.weftctl_history";
}

}  // namespace

int run_one(Session& s, const std::string& line) {
  InterruptScope interrupts;
  const std::string request = s.json ? "--json " + line : line;
  const Reply r = s.client.request(
      request,
      [](const std::string& chunk) {
        std::fwrite(chunk.data(), 1, chunk.size(), stdout);
        std::fflush(stdout);
      },
      [] { return g_interrupted.load(); }, s.timeout_s);
  std::FILE* out = (r.ok || s.json) ? stdout : stderr;
  std::fwrite(r.text.data(), 1, r.text.size(), out);
  if (s.json && (r.text.empty() || r.text.back() != '\n')) std::fputc('\n', out);
  std::fflush(out);
  return r.ok ? kExitOk : kExitFailed;
}

int repl(Session& s) {
  g_session = &s;
  rl_readline_name = "weftctl";
  rl_attempted_completion_function = complete;
  rl_completion_append_character = ' ';
  using_history();
  stifle_history(1000);
  const std::string history = history_path();
  read_history(history.c_str());
  s.client.watch_stdin(true);  // Enter ends `log tail`
  std::printf("%sType 'help' for the commands, Tab to complete, Ctrl-D to leave.\n", s.client.hello().c_str());
  for (;;) {
    char* raw = readline("weft> ");
    if (raw == nullptr) break;  // Ctrl-D
    std::string line(raw);
    std::free(raw);
    const auto words = words_of(line);
    if (words.empty()) continue;
    add_history(line.c_str());
    write_history(history.c_str());  // now, so a killed session keeps it
    if (words[0] == "quit" || words[0] == "exit") break;
    run_one(s, line);  // a failed command is shown; the session goes on
  }
  std::printf("\n");
  g_session = nullptr;
  return kExitOk;
}

int run_lines(Session& s) {
  int status = kExitOk;
  for (std::string line; std::getline(std::cin, line);)
    if (!words_of(line).empty() && run_one(s, line) != kExitOk) status = kExitFailed;
  return status;
}

}  // namespace weftctl
