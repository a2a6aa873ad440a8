// Fuzz target: ASCII line framing (drivers/src/ascii/line_framer.cpp). The
// input picks the options (terminator of 1 to 4 bytes, max_line, strip_cr)
// and chunk sizes; the rest is the byte stream. Invariants: the framer's
// lines and discards are exactly those of a plain model (split at each
// leftmost terminator; drop one '\r' before "\n" when strip_cr; a line over
// max_line is one overlong discard with its length and first 32 bytes),
// whatever the chunk boundaries; the partial line is pending_bytes() and
// reset() reports it; the counters agree.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "weft/drivers/ascii/line_framer.hpp"

namespace {

using namespace weft::ascii;
using weft::fuzz::FuzzBytes;

struct Model {
  std::vector<std::string> lines;
  std::vector<Discard> discards;
  std::string rest;
};

Model model(const FramerOptions& o, std::string_view input) {
  Model m;
  const bool strip = o.strip_cr && o.terminator == "\n";
  std::size_t at = 0;
  for (;;) {
    const std::size_t end = input.find(o.terminator, at);
    if (end == std::string_view::npos) break;
    const std::string_view raw = input.substr(at, end - at);
    std::string_view content = raw;
    if (strip && !content.empty() && content.back() == '\r') content.remove_suffix(1);
    if (content.size() <= o.max_line) m.lines.emplace_back(content);
    else m.discards.push_back({DiscardReason::overlong, raw.size(), std::string(raw.substr(0, Discard::head_max))});
    at = end + o.terminator.size();
  }
  m.rest = std::string(input.substr(at));
  return m;
}

void append(FeedResult& into, FeedResult&& more) {
  for (auto& l : more.lines) into.lines.push_back(std::move(l));
  for (auto& d : more.discards) into.discards.push_back(std::move(d));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzBytes in(data, size);
  FramerOptions o;
  const std::uint8_t shape = in.u8();
  static constexpr const char* kTerminators[] = {"\n", "\r\n", "\r", "\x03", "ab", "aab", "abab", "\n\n"};
  if (shape & 0x80) {
    const std::size_t n = 1 + (shape & 3u);
    o.terminator.clear();
    for (std::size_t i = 0; i < n; ++i) o.terminator += static_cast<char>(in.u8());
  } else {
    o.terminator = kTerminators[shape & 7u];
  }
  o.max_line = 1 + in.u8() % 96;
  o.strip_cr = (shape & 0x40) != 0;
  const std::uint8_t chunking = in.u8();
  const std::string_view input = in.rest_text();

  FUZZ_CHECK(!LineFramer::invalid_reason(o), "valid options refused");
  const Model expected = model(o, input);

  LineFramer whole(o), chunked(o);
  FeedResult all = whole.feed(input);
  FeedResult pieces;
  for (std::size_t at = 0, step = 0; at < input.size(); ++step) {
    const std::size_t n = std::min(input.size() - at, std::size_t{1} + ((chunking >> (step % 8)) & 1u) * (chunking % 17u));
    append(pieces, chunked.feed(input.substr(at, n)));
    at += n;
  }
  for (const FeedResult* r : {&all, &pieces}) {
    FUZZ_CHECK(r->lines == expected.lines, "lines differ from the model (%zu vs %zu)", r->lines.size(),
               expected.lines.size());
    FUZZ_CHECK(r->discards.size() == expected.discards.size(), "discards %zu vs %zu", r->discards.size(),
               expected.discards.size());
    for (std::size_t i = 0; i < r->discards.size(); ++i) {
      const Discard& d = r->discards[i];
      FUZZ_CHECK(d.reason == DiscardReason::overlong && d.length == expected.discards[i].length &&
                     d.head == expected.discards[i].head,
                 "discard %zu: length %zu vs %zu, head '%s' vs '%s'", i, d.length, expected.discards[i].length,
                 d.head.c_str(), expected.discards[i].head.c_str());
    }
  }
  for (LineFramer* f : {&whole, &chunked}) {
    FUZZ_CHECK(f->counters().lines == expected.lines.size() && f->counters().overlong_discarded == expected.discards.size() &&
                   f->counters().bytes == input.size(),
               "counters");
    FUZZ_CHECK(f->pending_bytes() == expected.rest.size(), "pending %zu vs %zu", f->pending_bytes(),
               expected.rest.size());
    const auto dropped = f->reset();
    FUZZ_CHECK(dropped.has_value() == !expected.rest.empty(), "reset() and the partial line disagree");
    if (dropped) {
      FUZZ_CHECK(dropped->reason == DiscardReason::reset && dropped->length == expected.rest.size() &&
                     dropped->head.size() <= Discard::head_max,
                 "reset discard");
    }
    FUZZ_CHECK(f->pending_bytes() == 0 && !f->discarding(), "reset left state behind");
  }
  return 0;
}
