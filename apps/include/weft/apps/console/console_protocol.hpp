// The console's wire protocol, shared by the console service and weftctl
// (standard library only, so weftctl compiles it without the runtime).
//
// A client sends one request per line ('\n'-terminated, at most
// kMaxRequest bytes): words separated by blanks, "double quotes" group
// words. A leading `--json` word asks for a JSON reply to that request.
//
// The server sends frames: a kind letter, a space, the payload length in
// decimal, '\n', then exactly that many payload bytes:
//
//   H  hello, once after accepting: "weft console, pid N\n"
//   R  refused (access, or too many clients): the reason; then it closes
//   D  one chunk of a streaming reply (`log tail`); a stream opens with an
//      empty D, so a client knows a line of its own will now end it, not run
//   O  the final reply to a request, which succeeded
//   E  the final reply to a request, which failed (unknown command, bad
//      arguments, a failing command)
//
// Every request gets exactly one final frame (O or E); a blank line is no
// request and gets nothing. While a streaming reply runs, any line from the
// client ends it (that line is not run); clients end streams with a blank
// line, which is harmless if the stream had already ended by itself.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace weft::console {

inline constexpr std::size_t kMaxRequest = 4096;
inline constexpr std::size_t kMaxFramePayload = 64 * 1024 * 1024;

enum class FrameKind : char { hello = 'H', refused = 'R', data = 'D', ok = 'O', error = 'E' };

struct Frame {
  FrameKind kind;
  std::string payload;
};

std::string encode_frame(FrameKind kind, std::string_view payload);

// Incremental decoder: feed() bytes as they arrive, next() frames as they
// complete. A malformed header is a protocol error (error() says what).
class FrameDecoder {
public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  std::optional<Frame> next();
  const std::string& error() const noexcept { return error_; }

private:
  std::string buffer_;
  std::string error_;
};

// JSON string literal (with quotes) for UTF-8 text; control bytes escaped.
std::string json_string(std::string_view text);

}  // namespace weft::console
