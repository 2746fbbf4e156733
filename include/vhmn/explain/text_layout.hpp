// vhmn/explain/text_layout.hpp — text that fits a width on a picture.
//
// What this does: breaks a line of text into lines no wider than a given
// number of pixels in the 5x7 font (font.hpp), at spaces where it can, and
// inside a word only when the word alone is wider than the line. Nothing is
// dropped: joining the lines with spaces gives back the words of the text.
#pragma once

#include <string>
#include <vector>

#include "vhmn/explain/font.hpp"

namespace vhmn::explain {

/// How many characters fit in `width` pixels at `scale` (at least 1).
inline std::size_t chars_that_fit(index_t width, index_t scale = 1) {
  const index_t n = (width + scale) / (kGlyphAdvance * scale);  // the last glyph needs no spacing column
  return static_cast<std::size_t>(n < 1 ? 1 : n);
}

/// `text` as lines of at most `width` pixels each (at least one line).
inline std::vector<std::string> wrap_text(const std::string& text, index_t width, index_t scale = 1) {
  const std::size_t room = chars_that_fit(width, scale);
  std::vector<std::string> lines;
  std::string line;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = text.find(' ', i);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(i, end - i);
    i = end;
    while (!word.empty()) {
      const std::size_t need = line.empty() ? word.size() : line.size() + 1 + word.size();
      if (need <= room) {
        line += (line.empty() ? "" : " ") + word;
        word.clear();
      } else if (!line.empty()) {
        lines.push_back(line);
        line.clear();
      } else {  // a word longer than a line: split it
        lines.push_back(word.substr(0, room));
        word = word.substr(room);
      }
    }
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

}  // namespace vhmn::explain
