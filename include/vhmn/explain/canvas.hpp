// vhmn/explain/canvas.hpp — an RGB image to draw figures on.
//
// What this represents: a width x height RGB8 raster, rows top to bottom,
// pixels interleaved (H, W, 3) — the layout PNG writers take. Drawing
// clips to the raster. Data-set images (planar C x H x W, grey or RGB)
// are pasted with nearest-neighbour enlargement, so every source pixel
// stays a crisp square.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/explain/font.hpp"

namespace vhmn::explain {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};
inline constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kRed{220, 30, 30}, kGrey{128, 128, 128};

class Canvas {
 public:
  Canvas() = default;
  Canvas(index_t width, index_t height, Rgb background = kWhite) : w_(width), h_(height) {
    VHMN_CHECK(width > 0 && height > 0 && width <= 65536 && height <= 65536,
               "canvas size " << width << "x" << height << " is out of range");
    px_.resize(static_cast<std::size_t>(width * height * 3));
    fill_rect(0, 0, width, height, background);
  }

  index_t width() const { return w_; }
  index_t height() const { return h_; }
  const std::uint8_t* data() const { return px_.data(); }  // (H, W, 3)
  std::uint8_t* data() { return px_.data(); }

  Rgb get(index_t x, index_t y) const {
    const std::uint8_t* p = px_.data() + (y * w_ + x) * 3;
    return Rgb{p[0], p[1], p[2]};
  }
  void set(index_t x, index_t y, Rgb c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    std::uint8_t* p = px_.data() + (y * w_ + x) * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
  void fill_rect(index_t x, index_t y, index_t w, index_t h, Rgb c) {
    for (index_t yy = std::max<index_t>(0, y); yy < std::min(h_, y + h); ++yy)
      for (index_t xx = std::max<index_t>(0, x); xx < std::min(w_, x + w); ++xx) set(xx, yy, c);
  }
  /// A frame `t` pixels thick drawn inside the w x h rectangle at (x, y).
  void frame(index_t x, index_t y, index_t w, index_t h, Rgb c, index_t t = 1) {
    fill_rect(x, y, w, t, c);
    fill_rect(x, y + h - t, w, t, c);
    fill_rect(x, y, t, h, c);
    fill_rect(x + w - t, y, t, h, c);
  }

  /// Pastes the sw x sh region at (sx, sy) of a planar image `src` (C, H, W),
  /// C = 1 (grey) or 3 (RGB), enlarged `scale` times, with its top-left at (x, y).
  void paste(const std::uint8_t* src, index_t C, index_t H, index_t W, index_t sx, index_t sy, index_t sw,
             index_t sh, index_t x, index_t y, index_t scale) {
    VHMN_CHECK(C == 1 || C == 3, "paste: images must have 1 or 3 channels, not " << C);
    VHMN_CHECK(sx >= 0 && sy >= 0 && sw >= 0 && sh >= 0 && sx + sw <= W && sy + sh <= H && scale >= 1,
               "paste: region " << sw << "x" << sh << " at (" << sx << ", " << sy << ") outside a " << W << "x"
                                << H << " image");
    const index_t HW = H * W;
    for (index_t r = 0; r < sh * scale; ++r)
      for (index_t c = 0; c < sw * scale; ++c) {
        const index_t p = (sy + r / scale) * W + sx + c / scale;
        const std::uint8_t g0 = src[p];
        set(x + c, y + r, C == 1 ? Rgb{g0, g0, g0} : Rgb{g0, src[HW + p], src[2 * HW + p]});
      }
  }
  /// Pastes a whole planar image (C, H, W) enlarged `scale` times.
  void paste(const std::uint8_t* src, index_t C, index_t H, index_t W, index_t x, index_t y, index_t scale) {
    paste(src, C, H, W, 0, 0, W, H, x, y, scale);
  }

  /// Draws one line of text with its top-left at (x, y), glyphs enlarged `scale` times.
  void text(index_t x, index_t y, const std::string& s, Rgb c, index_t scale = 1) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const std::uint8_t* g = glyph(s[i]);
      const index_t gx = x + static_cast<index_t>(i) * kGlyphAdvance * scale;
      for (index_t r = 0; r < kGlyphHeight; ++r)
        for (index_t col = 0; col < kGlyphWidth; ++col)
          if (g[r] & (0x10 >> col)) fill_rect(gx + col * scale, y + r * scale, scale, scale, c);
    }
  }

 private:
  index_t w_ = 0, h_ = 0;
  std::vector<std::uint8_t> px_;
};

}  // namespace vhmn::explain
