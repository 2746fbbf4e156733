// tools/vhmn/cmd_explain.cpp — `vhmn explain`: what a trained V-HMN recalls.
//
// Writes into --out: one prototype panel per chosen test image (the paper's
// Figure 3), the class x slot memory-weight profiles of the last block (its
// Figure 5), the retrieval hit rates (its Table 9) in explain.json, and
// report.html, which shows all of it with the PNGs embedded.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <vhmn/explain/canvas.hpp>
#include <vhmn/explain/hit_rates.hpp>
#include <vhmn/explain/png.hpp>
#include <vhmn/explain/retrieval.hpp>
#include <vhmn/explain/slot_profile.hpp>
#include <vhmn/explain/svg_plot.hpp>
#include <vhmn/explain/text_layout.hpp>

#include "commands.hpp"
#include "model_data.hpp"

namespace vhmn::cli {
namespace explain_cmd {

using namespace vhmn::explain;
/// explain.json: members in the order they are set (README, "Libraries the vhmn program uses").
using Json = nlohmann::ordered_json;

const char* kHelp =
    "usage: vhmn explain --model M.safetensors --data KIND [--data-dir DIR] [--out DIR]\n"
    "                    [--images 0,5,17] [--limit N] [--top K] [--block B] [--batch B] [--threads N]\n"
    "                    [--precision P]\n"
    "\n%s%s"
    "  --out DIR     where the PNGs, explain.json and report.html go (default: explain)\n"
    "  --images L    test images to explain, comma-separated (default: the first of each class)\n"
    "  --limit N     hit rates and memory-weight profiles over the first N test images (default: all)\n"
    "  --top K       prototypes shown per memory (default 5)\n"
    "  --block B     block whose prototypes the panels show, from 1 (default: the last)\n"
    "\n"
    "Needs the data set the checkpoint was trained on: the prototype panels show the training\n"
    "patches and images that wrote the recalled memory slots (their provenance), and a checkpoint\n"
    "whose provenance names images the data set does not have is rejected.\n";

std::string percent(double v, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f%%", digits, 100.0 * v);
  return buf;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string fit(const std::string& s, index_t width) {
  const std::size_t n = static_cast<std::size_t>(std::max<index_t>(1, (width + 1) / kGlyphAdvance));
  return s.size() <= n ? s : s.substr(0, n);
}

std::string base64(const std::vector<std::uint8_t>& in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const std::uint32_t a = in[i], b = i + 1 < in.size() ? in[i + 1] : 0, c = i + 2 < in.size() ? in[i + 2] : 0;
    const std::uint32_t v = (a << 16) | (b << 8) | c;
    out += abc[(v >> 18) & 63];
    out += abc[(v >> 12) & 63];
    out += i + 1 < in.size() ? abc[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? abc[v & 63] : '=';
  }
  return out;
}

std::string html_escape(const std::string& s) { return xml_escape(s); }

/// The token with the largest attention-pool weight among the patches that
/// show something (pixel range >= kContentRange): on Fashion-MNIST the
/// heaviest token is often plain black background, which says nothing to a
/// reader. Falls back to the heaviest token when every patch is flat.
constexpr int kContentRange = 32;

/// Brightest minus darkest pixel of token t's patch over all channels; image: (C, H, H) bytes.
int patch_pixel_range(const std::uint8_t* image, const ModelConfig& c, index_t t) {
  const index_t p = c.patch, g = c.grid(), H = c.image;
  int lo = 255, hi = 0;
  for (index_t ch = 0; ch < c.channels; ++ch)
    for (index_t r = 0; r < p; ++r)
      for (index_t q = 0; q < p; ++q) {
        const int v = image[ch * H * H + ((t / g) * p + r) * H + (t % g) * p + q];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  return hi - lo;
}

template <class T, int D, int L>
index_t informative_content_token(const VHMN<T, D, L>& model, index_t b, const std::uint8_t* image, const ModelConfig& c) {
  const index_t N = c.tokens();
  const T* w = pool_weights(model).data() + b * N;
  index_t best = most_informative_token(model, b);
  double best_w = -1;
  for (index_t t = 0; t < N; ++t) {
    if (patch_pixel_range(image, c, t) >= kContentRange && double(w[t]) > best_w) {
      best_w = double(w[t]);
      best = t;
    }
  }
  return best;
}

/// One chosen test image, explained.
struct Chosen {
  index_t index = 0, label = 0, predicted = 0;
  index_t token = 0;           // the patch shown: the heaviest among those with content
  index_t most_attended = 0;   // the heaviest of all (often background)
  int pixel_range = 0;         // of the patch shown
  double confidence = 0, token_weight = 0;
  std::vector<std::vector<SlotHit>> local, global;  // per block: top-k at the token / of the image
};

/// A colour map from dark blue through purple and orange to pale yellow; v in [0, 1].
Rgb heat(double v) {
  static const double stops[5][3] = {{12, 12, 40}, {70, 30, 120}, {180, 50, 100}, {245, 130, 40}, {252, 245, 150}};
  v = std::min(1.0, std::max(0.0, v)) * 4.0;
  const int i = std::min(3, static_cast<int>(v));
  const double f = v - i;
  auto mix = [&](int c) { return static_cast<std::uint8_t>(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]) + 0.5); };
  return Rgb{mix(0), mix(1), mix(2)};
}

/// The own-class frames: green and 2 pixels thick, a colour the heat map never uses.
constexpr Rgb kOwnClass{0, 200, 70};

/// Class x slot heat map of mean slot weights, each class row scaled to its own maximum,
/// with a colour bar below.

Canvas profile_image(const SlotProfile& p, const std::vector<std::string>& names, const std::string& title) {
  const index_t K = p.classes(), S = p.slots(), per = S / K;
  const index_t cw = std::max<index_t>(1, 640 / S), rh = 16, left = 96;
  const index_t width = left + S * cw + (K - 1) + 70;
  const std::vector<std::string> title_lines = wrap_text(upper(title), width - 16);
  const index_t top = 8 + 10 * static_cast<index_t>(title_lines.size()) + 8;
  const index_t legend_y = top + K * rh + 30, height = legend_y + 30;
  Canvas c(width, height, kWhite);
  for (std::size_t i = 0; i < title_lines.size(); ++i) c.text(8, 8 + 10 * static_cast<index_t>(i), title_lines[i], kBlack);
  auto col_x = [&](index_t s) { return left + s * cw + s / per; };  // 1-pixel gaps between classes
  for (index_t y = 0; y < K; ++y) {
    double mx = 0;
    for (index_t s = 0; s < S; ++s) mx = std::max(mx, p.mean(y, s));
    const index_t ry = top + y * rh;
    c.text(8, ry + 3, fit(upper(names[static_cast<std::size_t>(y)]), left - 12), kBlack);
    for (index_t s = 0; s < S; ++s) c.fill_rect(col_x(s), ry, cw, rh - 1, heat(mx > 0 ? p.mean(y, s) / mx : 0));
    // own-class slots framed, own-class share written at the right
    c.frame(col_x(y * per), ry, per * cw, rh - 1, kOwnClass, 2);
    c.text(col_x(S - 1) + cw + 6, ry + 3, percent(p.mass(y, y), 0), kBlack);
  }
  for (index_t k = 0; k < K; ++k) {
    const std::string label = std::to_string(k);
    c.text(col_x(k * per) + (per * cw - text_width(label)) / 2, top + K * rh + 4, label, kGrey);
  }
  const std::vector<std::string> key =
      wrap_text("COLUMNS: SLOTS BY OWNING CLASS; GREEN FRAME: OWN CLASS; RIGHT: OWN-CLASS WEIGHT", width - left - 8);
  for (std::size_t i = 0; i < key.size() && i < 2; ++i)
    c.text(left, top + K * rh + 14 + 9 * static_cast<index_t>(i), key[i], kGrey);
  // colour bar: what the heat map's colours mean (each row scaled to its maximum)
  const index_t bar_w = std::min<index_t>(200, width - left - 80);
  for (index_t x = 0; x < bar_w; ++x) c.fill_rect(left + x, legend_y, 1, 10, heat(double(x) / double(bar_w - 1)));
  c.frame(left - 1, legend_y - 1, bar_w + 2, 12, kGrey);
  c.text(left - 8 - text_width("0"), legend_y + 2, "0", kBlack);
  c.text(left + bar_w + 6, legend_y + 2, "ROW MAXIMUM", kBlack);
  c.text(left, legend_y + 14, "MEAN SLOT WEIGHT", kGrey);
  return c;
}

/// The prototype panel of one test image (the paper's Figure 3).
Canvas panel_image(const Chosen& ch, index_t block, const ModelAndData& md, const std::vector<index_t>& train_pos) {
  const ModelConfig& c = md.model->config();
  const data::Dataset& test = md.test;
  const data::Dataset& train = md.train;
  const index_t H = c.image, C = c.channels, p = c.patch;
  const index_t big = std::max<index_t>(1, 128 / H), tile = 64, thumb = std::max<index_t>(1, tile / H),
                pscale = std::max<index_t>(1, tile / p), gap = 10;
  const auto& local = ch.local[static_cast<std::size_t>(block)];
  const auto& global = ch.global[static_cast<std::size_t>(block)];
  const index_t k = static_cast<index_t>(std::max(local.size(), global.size()));
  const index_t left_w = std::max<index_t>(H * big, 2 * tile) + 16;
  const index_t width = 8 + left_w + std::max<index_t>(1, k) * (tile + gap) + 8;
  const std::string& tname = md.class_names[static_cast<std::size_t>(ch.label)];
  const std::string& pname = md.class_names[static_cast<std::size_t>(ch.predicted)];
  // the header wraps to the panel's width; blocks count from 1 for people
  const std::vector<std::string> title = wrap_text(
      upper("test image " + std::to_string(ch.index) + "  true: " + tname + "  predicted: " + pname + " " +
            percent(ch.confidence)),
      width - 16);
  const std::vector<std::string> subtitle =
      wrap_text(upper("block " + std::to_string(block + 1) + " of " + std::to_string(c.depth) +
                      "; local: the patch's nearest prototypes, global: the image's"),
                width - 16);
  const index_t header_lines = static_cast<index_t>(title.size() + subtitle.size());
  const index_t label_h = 36;  // class name (up to 2 lines), weight, training index
  const index_t local_y = 8 + 10 * header_lines + 12,
                global_y = local_y + 14 + tile + 4 + H * thumb + 4 + label_h + 10;
  const index_t height = std::max(global_y + 14 + H * thumb + 4 + label_h, local_y + H * big + 14 + tile + 40);
  Canvas cv(width, height, kWhite);
  index_t line_y = 8;
  for (const std::string& l : title) cv.text(8, (line_y += 10) - 10, l, kBlack);
  for (const std::string& l : subtitle) cv.text(8, (line_y += 10) - 10, l, kGrey);
  // the test image with the most informative patch boxed, and that patch enlarged
  const std::uint8_t* img = test.image(ch.index);
  const PatchBox box = patch_box(c, ch.token);
  cv.paste(img, C, H, H, 8, local_y, big);
  cv.frame(8 + box.x * big - 1, local_y + box.y * big - 1, p * big + 2, p * big + 2, kRed, 2);
  const index_t py = local_y + H * big + 8;
  cv.paste(img, C, H, H, box.x, box.y, p, p, 8, py, std::max<index_t>(1, (2 * tile) / p / 2));
  cv.text(8, py + tile + 4, "PATCH " + std::to_string(box.y / p) + "," + std::to_string(box.x / p), kBlack);
  cv.text(8, py + tile + 13, "POOL " + percent(ch.token_weight), kBlack);

  const index_t x0 = 8 + left_w;
  auto source = [&](const SlotHit& h) -> index_t {
    return (h.source_index >= 0 && h.source_index < static_cast<std::int64_t>(train_pos.size()))
               ? train_pos[static_cast<std::size_t>(h.source_index)]
               : -1;
  };
  auto labels = [&](index_t x, index_t y, const SlotHit& h) {
    // a long class name takes two lines (the rest of a longer one is cut)
    const std::vector<std::string> name =
        wrap_text(upper(md.class_names[static_cast<std::size_t>(h.slot_class)]), tile + gap - 2);
    cv.text(x, y, name[0], kBlack);
    if (name.size() > 1) cv.text(x, y + 9, fit(name[1], tile + gap - 2), kBlack);
    cv.text(x, y + 18, percent(h.weight), h.slot_class == ch.label ? Rgb{0, 130, 0} : kRed);
    cv.text(x, y + 27, fit("#" + std::to_string(h.source_index), tile), kGrey);
  };
  cv.text(x0, local_y, "LOCAL MEMORY", kBlack);
  for (std::size_t i = 0; i < local.size(); ++i) {
    const SlotHit& h = local[i];
    const index_t x = x0 + static_cast<index_t>(i) * (tile + gap), y = local_y + 12;
    const index_t src = source(h);
    if (src < 0 || h.source_token < 0) {
      cv.fill_rect(x, y, tile, tile, kGrey);
      cv.text(x + 2, y + 2, "NO SOURCE", kWhite);
    } else {
      const PatchBox sb = patch_box(c, static_cast<index_t>(h.source_token));
      const std::uint8_t* si = train.image(src);
      cv.paste(si, C, H, H, sb.x, sb.y, p, p, x, y, pscale);
      cv.paste(si, C, H, H, x, y + tile + 4, thumb);
      cv.frame(x + sb.x * thumb - 1, y + tile + 4 + sb.y * thumb - 1, p * thumb + 2, p * thumb + 2, kRed);
    }
    labels(x, y + tile + 4 + H * thumb + 4, h);
  }
  cv.text(x0, global_y, "GLOBAL MEMORY", kBlack);
  for (std::size_t i = 0; i < global.size(); ++i) {
    const SlotHit& h = global[i];
    const index_t x = x0 + static_cast<index_t>(i) * (tile + gap), y = global_y + 12;
    const index_t src = source(h);
    if (src < 0) {
      cv.fill_rect(x, y, H * thumb, H * thumb, kGrey);
      cv.text(x + 2, y + 2, "NO SOURCE", kWhite);
    } else {
      cv.paste(train.image(src), C, H, H, x, y, thumb);
    }
    labels(x, y + H * thumb + 4, h);
  }
  return cv;
}

Json hit_json(const HitRates& h) {
  Json j = Json::object();
  j["queries"] = h.queries;
  j["top1"] = h.top1_rate();
  j["top5"] = h.topk_rate();
  j["chance_top1"] = h.chance_top1();
  j["chance_top5"] = h.chance_topk();
  return j;
}

Json hits_json(const std::vector<SlotHit>& hits, index_t grid) {
  Json a = Json::array();
  for (const SlotHit& h : hits) {
    Json j = Json::object();
    j["slot"] = h.slot;
    j["weight"] = h.weight;
    j["class"] = h.slot_class;
    j["train_index"] = h.source_index;
    j["token"] = h.source_token;
    if (h.source_token >= 0) {
      j["token_row"] = h.source_token / grid;
      j["token_col"] = h.source_token % grid;
    }
    a.push_back(j);
  }
  return a;
}

std::string hits_table(const std::vector<SlotHit>& hits, index_t grid, const std::vector<std::string>& names,
                       index_t label) {
  std::ostringstream o;
  o << "<table><tr><th>rank</th><th>slot</th><th>class</th><th>weight</th><th>written by training image</th>"
       "<th>token (row, col)</th></tr>\n";
  for (std::size_t i = 0; i < hits.size(); ++i) {
    const SlotHit& h = hits[i];
    o << "<tr" << (h.slot_class == label ? " class=\"hit\"" : "") << "><td>" << i + 1 << "</td><td>" << h.slot
      << "</td><td>" << html_escape(names[static_cast<std::size_t>(h.slot_class)]) << "</td><td>" << percent(h.weight, 2)
      << "</td><td>" << h.source_index << "</td><td>";
    if (h.source_token >= 0)
      o << h.source_token << " (" << h.source_token / grid << ", " << h.source_token % grid << ")";
    else
      o << "whole image";
    o << "</td></tr>\n";
  }
  o << "</table>\n";
  return o.str();
}

/// The picture at twice its size (crisp: the CSS asks for pixelated scaling),
/// narrower only where the window is.
std::string img_tag(const std::vector<std::uint8_t>& png, const std::string& alt, index_t width) {
  return "<img src=\"data:image/png;base64," + base64(png) + "\" alt=\"" + html_escape(alt) + "\" width=\"" +
         std::to_string(2 * width) + "\">";
}

}  // namespace explain_cmd

int cmd_explain(const std::vector<std::string>& argv) {
  using namespace explain_cmd;
  const Args args(argv, {"help"},
                  {"model", "data", "data-dir", "out", "images", "limit", "top", "block", "batch", "threads",
                   "precision"});
  if (args.flag("help")) {
    std::printf(kHelp, kDataHelp, kPrecisionHelp);
    return 0;
  }
  args.no_positional();
  set_threads_option(args);
  const long long limit = args.integer("limit", 0, 0, kNoMax);
  const index_t top = static_cast<index_t>(args.integer("top", 5, 1, 20));
  const index_t batch = static_cast<index_t>(args.integer("batch", 100, 1, 65536));
  const std::string out_dir = args.str("out", "explain");

  // The chosen images index the full test split, so read it before --limit applies.
  ModelAndData md = load_model_and_data(args, /*need_train=*/true, 0);
  VHMN_CHECK(md.train.size > 0, "the training split of '" << md.kind << "' is empty");
  VHMN_CHECK(md.train.height == md.test.height, "training and test images differ in size");
  VHMN<float>& model = *md.model;
  const ModelConfig& c = model.config();
  const index_t K = c.classes, N = c.tokens(), depth = c.depth, last = depth - 1;
  // --block counts from 1, as the pictures, the report and explain.json do
  const long long block_number = args.integer("block", depth);
  VHMN_USAGE_CHECK(block_number >= 1 && block_number <= depth,
                   "--block " << block_number << ": must be between 1 and " << depth << " (this model has " << depth
                              << " blocks, counted from 1)");
  const index_t block = static_cast<index_t>(block_number - 1);  // index
  VHMN_CHECK(c.iters > 0, md.model_path << " runs with T = 0 refinement steps: its memories are never read, "
                                           "so there is nothing to explain");

  std::vector<index_t> chosen_idx;
  if (args.has("images")) {
    for (long long v : parse_int_list(args.str("images", ""), "images")) {
      VHMN_CHECK(v >= 0 && v < md.test.size,
                 "--images: test image " << v << " outside [0, " << md.test.size << ")");
      chosen_idx.push_back(static_cast<index_t>(v));
    }
  } else {
    for (index_t y = 0; y < K; ++y) {
      const auto idx = md.test.indices_of_class(static_cast<std::int32_t>(y));
      if (!idx.empty()) chosen_idx.push_back(idx[0]);
    }
  }
  // training-set position of every source_index
  std::int64_t max_src = 0;
  for (std::int64_t s : md.train.source_index) max_src = std::max(max_src, s);
  std::vector<index_t> train_pos(static_cast<std::size_t>(max_src + 1), -1);
  for (index_t i = 0; i < md.train.size; ++i) train_pos[static_cast<std::size_t>(md.train.source_index[static_cast<std::size_t>(i)])] = i;

  const data::Dataset full_test = md.test;
  limit_dataset(md.test, limit);
  const auto lut = data::normalization_lut<float>(md.norm);
  const index_t HW = c.image * c.image;

  // 1. hit rates and memory-weight profiles of the last block over the test set
  HitRates hit_local, hit_global;
  SlotProfile prof_local(K, c.local_slots), prof_global(K, c.global_slots);
  std::int64_t correct = 0;
  Tensor<float> images;
  for (index_t start = 0; start < md.test.size; start += batch) {
    const index_t B = std::min(batch, md.test.size - start);
    images.resize({B, c.channels, c.image, c.image});
    for (index_t b = 0; b < B; ++b)
      data::normalize_image(md.test.image(start + b), c.channels, HW, lut, images.data() + b * c.channels * HW);
    const float* logits = model.forward(images.data(), B);
    const std::int32_t* labels = md.test.labels.data() + start;
    for (index_t b = 0; b < B; ++b)
      correct += (std::max_element(logits + b * K, logits + (b + 1) * K) - (logits + b * K)) == labels[b];
    const auto vl = retrieval(model, last, Path::Local), vg = retrieval(model, last, Path::Global);
    accumulate_hits(hit_local, vl, labels);
    accumulate_hits(hit_global, vg, labels);
    prof_local.add(vl, labels);
    prof_global.add(vg, labels);
  }
  const double accuracy = double(correct) / double(md.test.size);

  // 2. the chosen images, one forward
  std::vector<Chosen> chosen;
  {
    const index_t B = static_cast<index_t>(chosen_idx.size());
    images.resize({B, c.channels, c.image, c.image});
    for (index_t b = 0; b < B; ++b)
      data::normalize_image(full_test.image(chosen_idx[static_cast<std::size_t>(b)]), c.channels, HW, lut,
                            images.data() + b * c.channels * HW);
    const float* logits = model.forward(images.data(), B);
    for (index_t b = 0; b < B; ++b) {
      Chosen ch;
      ch.index = chosen_idx[static_cast<std::size_t>(b)];
      ch.label = full_test.labels[static_cast<std::size_t>(ch.index)];
      const float* lb = logits + b * K;
      ch.predicted = static_cast<index_t>(std::max_element(lb, lb + K) - lb);
      double z = 0;
      for (index_t j = 0; j < K; ++j) z += std::exp(double(lb[j]) - double(lb[ch.predicted]));
      ch.confidence = 1.0 / z;
      ch.token = informative_content_token(model, b, full_test.image(ch.index), c);
      ch.most_attended = most_informative_token(model, b);
      ch.pixel_range = patch_pixel_range(full_test.image(ch.index), c, ch.token);
      ch.token_weight = double(pool_weights(model)[b * N + ch.token]);
      for (index_t i = 0; i < depth; ++i) {
        ch.local.push_back(retrieval(model, i, Path::Local).top_k(b * N + ch.token, top));
        ch.global.push_back(retrieval(model, i, Path::Global).top_k(b, top));
      }
      chosen.push_back(std::move(ch));
    }
  }

  // 3. pictures, JSON, report
  std::filesystem::create_directories(out_dir);
  auto path = [&](const std::string& name) { return (std::filesystem::path(out_dir) / name).string(); };
  const index_t evaluated = md.test.size;
  md.test = full_test;  // panels index the full test split
  const Canvas cv_local = profile_image(prof_local, md.class_names,
                                        "local memory, block " + std::to_string(last + 1) + " of " +
                                            std::to_string(depth) +
                                            ": mean slot weight per class (rows scaled to their maximum)");
  const Canvas cv_global = profile_image(prof_global, md.class_names,
                                         "global memory, block " + std::to_string(last + 1) + " of " +
                                             std::to_string(depth) +
                                             ": mean slot weight per class (rows scaled to their maximum)");
  const auto png_local = write_png(path("profile_local.png"), cv_local);
  const auto png_global = write_png(path("profile_global.png"), cv_global);
  std::vector<std::vector<std::uint8_t>> panels;
  std::vector<index_t> panel_widths;
  for (const Chosen& ch : chosen) {
    const Canvas panel = panel_image(ch, block, md, train_pos);
    panel_widths.push_back(panel.width());
    panels.push_back(write_png(path("panel_" + std::to_string(ch.index) + ".png"), panel));
  }

  const index_t grid = c.grid();
  Json j = Json::object(), hits = Json::object(), own = Json::object(), imgs = Json::array();
  j["model"] = md.model_path;
  j["data"] = full_test.name;
  j["images_evaluated"] = evaluated;
  j["accuracy"] = accuracy;
  j["block"] = last + 1;  // counted from 1, as everywhere people read it
  j["content_threshold"] = kContentRange;  // pixel range a shown patch needs
  hits["local"] = hit_json(hit_local);
  hits["global"] = hit_json(hit_global);
  j["hit_rates"] = hits;
  Json own_l = Json::object(), own_g = Json::object();
  for (index_t y = 0; y < K; ++y) {
    own_l[md.class_names[static_cast<std::size_t>(y)]] = prof_local.mass(y, y);
    own_g[md.class_names[static_cast<std::size_t>(y)]] = prof_global.mass(y, y);
  }
  own["local"] = own_l;
  own["global"] = own_g;
  j["own_class_weight"] = own;
  for (const Chosen& ch : chosen) {
    Json e = Json::object(), blocks = Json::array();
    e["index"] = ch.index;
    e["label"] = md.class_names[static_cast<std::size_t>(ch.label)];
    e["predicted"] = md.class_names[static_cast<std::size_t>(ch.predicted)];
    e["confidence"] = ch.confidence;
    e["token"] = ch.token;
    e["pool_weight"] = ch.token_weight;
    e["patch_pixel_range"] = ch.pixel_range;  // >= content_threshold unless every patch is flat
    e["most_attended_token"] = ch.most_attended;
    for (index_t i = 0; i < depth; ++i) {
      Json b = Json::object();
      b["local"] = hits_json(ch.local[static_cast<std::size_t>(i)], grid);
      b["global"] = hits_json(ch.global[static_cast<std::size_t>(i)], grid);
      blocks.push_back(b);
    }
    e["blocks"] = blocks;
    e["panel"] = "panel_" + std::to_string(ch.index) + ".png";
    imgs.push_back(e);
  }
  j["images"] = imgs;
  {
    const std::string text = j.dump() + "\n";
    write_file_atomic(path("explain.json"), std::vector<std::uint8_t>(text.begin(), text.end()));
  }

  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>V-HMN explanation: "
    << html_escape(md.model_path) << "</title>\n<meta name=\"viewport\" content=\"width=device-width\">\n"
       "<style>body{font-family:sans-serif;font-size:18px;line-height:1.5;max-width:1400px;margin:2em auto;"
       "padding:0 1em}table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;"
       "text-align:right}th{background:#f3f3f3}tr.hit td{background:#eef8ee}img{image-rendering:pixelated;"
       "max-width:100%;height:auto}h2{border-bottom:1px solid #ddd;margin-top:2em}.note{color:#555}</style></head><body>\n"
    << "<h1>What the model remembers</h1>\n<p>Model <code>" << html_escape(md.model_path) << "</code> ("
    << c.depth << " blocks, " << c.local_slots << " local / " << c.global_slots << " global slots per block, T = "
    << c.iters << ") on <code>" << html_escape(full_test.name) << "</code>: accuracy " << percent(accuracy, 2)
    << " on " << evaluated << " test images.</p>\n";
  h << "<h2>Retrieval hit rates (last block)</h2>\n<p class=\"note\">How often the heaviest slot (top-1) and any of "
       "the five heaviest slots (top-5) of the last block's retrieval belong to the input's class, over every token "
       "(local) or image (global) of the "
    << evaluated << " test images; chance is what retrieving uniformly at random among the written slots would "
       "score.</p>\n<table><tr><th>memory</th><th>top-1</th><th>chance</th><th>top-5</th><th>chance</th></tr>\n";
  for (int p = 0; p < 2; ++p) {
    const HitRates& r = p == 0 ? hit_local : hit_global;
    h << "<tr><td>" << (p == 0 ? "local" : "global") << "</td><td>" << percent(r.top1_rate(), 2) << "</td><td>"
      << percent(r.chance_top1(), 2) << "</td><td>" << percent(r.topk_rate(), 2) << "</td><td>"
      << percent(r.chance_topk(), 2) << "</td></tr>\n";
  }
  h << "</table>\n<h2>Memory-weight profiles (last block)</h2>\n<p class=\"note\">Mean retrieval weight each class's "
       "test inputs put on every slot (columns, grouped by the class that owns them; green frames: the class's own "
       "slots; right: the share of weight on them). Each row is scaled to its own maximum.</p>\n"
    << img_tag(png_local, "local memory-weight profile", cv_local.width()) << "<br><br>\n"
    << img_tag(png_global, "global memory-weight profile", cv_global.width()) << "\n<h2>Prototype panels</h2>\n<p class=\"note\">"
       "For each test image: the most informative patch by attention-pool weight (red box), the local prototypes "
       "of block " << block + 1 << " that patch recalled, shown as the training patches that wrote them (with the whole "
       "training image below, patch boxed), and the global prototypes the image recalled, shown as their training "
       "images; each labelled with class, retrieval weight and training-set index.</p>\n";
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const Chosen& ch = chosen[i];
    h << "<h3>Test image " << ch.index << ": " << html_escape(md.class_names[static_cast<std::size_t>(ch.label)])
      << ", predicted " << html_escape(md.class_names[static_cast<std::size_t>(ch.predicted)]) << " ("
      << percent(ch.confidence) << ")</h3>\n"
      << img_tag(panels[i], "prototype panel of test image " + std::to_string(ch.index), panel_widths[i]) << "\n<p>Most informative "
      << "token " << ch.token << " (row " << ch.token / grid << ", col " << ch.token % grid << "), pool weight "
      << percent(ch.token_weight, 2) << ".";
    if (ch.most_attended != ch.token)
      h << " The heaviest token, " << ch.most_attended << " (row " << ch.most_attended / grid << ", col "
        << ch.most_attended % grid << "), is plain background (pixel range below " << kContentRange
        << "), so the heaviest patch with content is shown.";
    h << "</p>\n<details><summary>Top-" << top
      << " slots of every block</summary>\n";
    for (index_t b = 0; b < depth; ++b)
      h << "<p>Block " << b + 1 << " of " << depth << ", local (token " << ch.token << ")</p>\n"
        << hits_table(ch.local[static_cast<std::size_t>(b)], grid, md.class_names, ch.label) << "<p>Block " << b + 1
        << " of " << depth << ", global</p>\n"
        << hits_table(ch.global[static_cast<std::size_t>(b)], grid, md.class_names, ch.label);
    h << "</details>\n";
  }
  h << "</body></html>\n";
  {
    const std::string text = h.str();
    write_file_atomic(path("report.html"), std::vector<std::uint8_t>(text.begin(), text.end()));
  }

  std::printf("%s on %s: accuracy %.2f%% over %lld test images\n", md.model_path.c_str(), full_test.name.c_str(),
              100 * accuracy, static_cast<long long>(evaluated));
  std::printf("retrieval hit rates, block %lld of %lld:   top-1 (chance)     top-5 (chance)\n",
              static_cast<long long>(last + 1), static_cast<long long>(depth));
  for (int p = 0; p < 2; ++p) {
    const HitRates& r = p == 0 ? hit_local : hit_global;
    std::printf("  %-6s                       %6.2f%% (%5.2f%%)  %6.2f%% (%5.2f%%)\n", p == 0 ? "local" : "global",
                100 * r.top1_rate(), 100 * r.chance_top1(), 100 * r.topk_rate(), 100 * r.chance_topk());
  }
  std::printf("wrote %s (report.html, explain.json, %zu panels, 2 profiles)\n", out_dir.c_str(), panels.size());
  return 0;
}

}  // namespace vhmn::cli
