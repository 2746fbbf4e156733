// tools/vhmn/cmd_robustness.cpp — `vhmn robustness`: accuracy under the
// paper's corruptions (section 4.2) for several refinement depths T, and the
// stability of retrieval under noise and occlusion (appendix A.13).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include <vhmn/explain/corruptions.hpp>
#include <vhmn/explain/png.hpp>
#include <vhmn/explain/retrieval.hpp>
#include <vhmn/explain/stability.hpp>
#include <vhmn/explain/svg_plot.hpp>

#include "commands.hpp"
#include "model_data.hpp"

namespace vhmn::cli {
namespace robustness_cmd {

using namespace vhmn::explain;
/// robustness.json: members in the order they are set.
using Json = nlohmann::ordered_json;

const char* kHelp =
    "usage: vhmn robustness --model M.safetensors --data KIND [--data-dir DIR] [--out DIR]\n"
    "                       [--limit N] [--iters 0,1,2,3] [--seed S] [--batch B] [--threads N]\n"
    "                       [--precision P]\n"
    "\n%s%s"
    "  --out DIR     robustness.json, report.html and the SVG plots go here (default: robustness)\n"
    "  --limit N     use the first N test images (default 1000; 0: all)\n"
    "  --iters LIST  refinement depths T to evaluate the checkpoint with (default 0,1,2,3)\n"
    "  --seed S      seed of the corruptions (default 0): each image gets its own generator\n"
    "\n"
    "Corruptions, on the [0,1] pixel scale before normalisation, clipped: Gaussian noise with\n"
    "std 0.05 0.10 0.20 0.30; a random square occluding 5%% 10%% 20%% of the image (set to 0);\n"
    "contrast scaled by 0.5 0.75 1.25 1.5 around the image mean. Retrieval stability (last\n"
    "block, at the checkpoint's own T, or T = 1 if that is 0): top-5 consistency (the corrupted\n"
    "top-1 slot is among the clean top-5) and the cosine of the clean and corrupted top-1 slots.\n";

struct PathStability {
  std::vector<Stability> local, global;  // per corruption
};

}  // namespace robustness_cmd

int cmd_robustness(const std::vector<std::string>& argv) {
  using namespace robustness_cmd;
  const Args args(argv, {"help"}, {"model", "data", "data-dir", "out", "limit", "iters", "seed", "batch", "threads",
                                   "precision"});
  if (args.flag("help")) {
    std::printf(kHelp, kDataHelp, kPrecisionHelp);
    return 0;
  }
  args.no_positional();
  set_threads_option(args);
  const long long limit = args.integer("limit", 1000, 0, kNoMax);
  const index_t batch = static_cast<index_t>(args.integer("batch", 100, 1, 65536));
  const std::uint64_t seed = static_cast<std::uint64_t>(args.integer("seed", 0, 0, kNoMax));
  std::vector<index_t> iters;
  for (long long t : parse_int_list(args.str("iters", "0,1,2,3"), "iters")) {
    VHMN_USAGE_CHECK(t >= 0 && t <= 64, "--iters " << t << ": T must be between 0 and 64");
    iters.push_back(static_cast<index_t>(t));
  }
  const std::string out_dir = args.str("out", "robustness");

  ModelAndData md = load_model_and_data(args, /*need_train=*/false, limit);
  VHMN<float>& model = *md.model;
  const ModelConfig c = model.config();
  const index_t K = c.classes, C = c.channels, H = c.image, HW = H * H, last = c.depth - 1;
  const index_t own_T = c.iters, stab_T = own_T > 0 ? own_T : 1;
  // text for people counts blocks from 1 ("block 4 of 4"), as `vhmn explain` does
  const std::string block_of = "block " + std::to_string(last + 1) + " of " + std::to_string(c.depth);
  if (std::find(iters.begin(), iters.end(), stab_T) == iters.end()) iters.push_back(stab_T);
  const std::vector<Corruption> corr = paper_corruptions();
  const index_t NC = static_cast<index_t>(corr.size());
  const auto lut = data::normalization_lut<float>(md.norm);
  const index_t n = md.test.size;

  // accuracy[t][0] clean, [t][1 + i] corruption i
  std::vector<std::vector<double>> accuracy(iters.size(), std::vector<double>(static_cast<std::size_t>(NC + 1)));
  PathStability stab;
  stab.local.assign(static_cast<std::size_t>(NC), {});
  stab.global.assign(static_cast<std::size_t>(NC), {});
  Tensor<float> images;
  std::vector<float> unit(static_cast<std::size_t>(C * HW));
  std::printf("%s on %s: %lld test images, %lld corruptions, T in {", md.model_path.c_str(), md.test.name.c_str(),
              static_cast<long long>(n), static_cast<long long>(NC));
  for (std::size_t t = 0; t < iters.size(); ++t) std::printf("%s%lld", t ? ", " : "", static_cast<long long>(iters[t]));
  std::printf("}\n");
  std::fflush(stdout);

  for (std::size_t t = 0; t < iters.size(); ++t) {
    model.set_iters(iters[t]);
    const bool with_stability = iters[t] == stab_T;
    std::vector<std::int64_t> correct(static_cast<std::size_t>(NC + 1), 0);
    for (index_t start = 0; start < n; start += batch) {
      const index_t B = std::min(batch, n - start);
      const std::int32_t* labels = md.test.labels.data() + start;
      images.resize({B, C, H, H});
      auto count = [&](const float* logits, std::size_t slot) {
        for (index_t b = 0; b < B; ++b)
          correct[slot] += (std::max_element(logits + b * K, logits + (b + 1) * K) - (logits + b * K)) == labels[b];
      };
      for (index_t b = 0; b < B; ++b)
        data::normalize_image(md.test.image(start + b), C, HW, lut, images.data() + b * C * HW);
      count(model.forward(images.data(), B), 0);
      std::vector<index_t> clean_local, clean_global;
      if (with_stability) {
        clean_local = top_slots(retrieval(model, last, Path::Local), 5);
        clean_global = top_slots(retrieval(model, last, Path::Global), 5);
      }
      for (index_t ci = 0; ci < NC; ++ci) {
        for (index_t b = 0; b < B; ++b) {
          to_unit(md.test.image(start + b), C * HW, unit.data());
          Rng rng = corruption_rng(seed, static_cast<std::uint64_t>(ci), static_cast<std::uint64_t>(start + b));
          apply_corruption(corr[static_cast<std::size_t>(ci)], unit.data(), C, H, H, rng);
          normalize_unit(unit.data(), C, HW, md.norm.mean, md.norm.std, images.data() + b * C * HW);
        }
        count(model.forward(images.data(), B), static_cast<std::size_t>(ci + 1));
        if (with_stability) {
          accumulate_stability(stab.local[static_cast<std::size_t>(ci)], clean_local, 5,
                               retrieval(model, last, Path::Local));
          accumulate_stability(stab.global[static_cast<std::size_t>(ci)], clean_global, 5,
                               retrieval(model, last, Path::Global));
        }
      }
    }
    for (std::size_t i = 0; i < correct.size(); ++i) accuracy[t][i] = double(correct[i]) / double(n);
    std::printf("T = %lld: clean %.2f%%\n", static_cast<long long>(iters[t]), 100 * accuracy[t][0]);
    std::fflush(stdout);
  }
  model.set_iters(own_T);

  // means per corruption kind and over all
  auto mean_of = [&](std::size_t t, CorruptionKind kind, bool all) {
    double s = 0;
    int m = 0;
    for (index_t ci = 0; ci < NC; ++ci)
      if (all || corr[static_cast<std::size_t>(ci)].kind == kind) {
        s += accuracy[t][static_cast<std::size_t>(ci + 1)];
        ++m;
      }
    return m ? s / m : 0.0;
  };

  // table
  std::printf("\naccuracy (%%)        ");
  for (index_t T : iters) std::printf("  T=%-5lld", static_cast<long long>(T));
  std::printf("\n%-20s", "clean");
  for (std::size_t t = 0; t < iters.size(); ++t) std::printf("  %6.2f ", 100 * accuracy[t][0]);
  for (index_t ci = 0; ci < NC; ++ci) {
    std::printf("\n%-20s", corr[static_cast<std::size_t>(ci)].name().c_str());
    for (std::size_t t = 0; t < iters.size(); ++t)
      std::printf("  %6.2f ", 100 * accuracy[t][static_cast<std::size_t>(ci + 1)]);
  }
  const CorruptionKind kinds[3] = {CorruptionKind::GaussianNoise, CorruptionKind::Occlusion, CorruptionKind::Contrast};
  for (CorruptionKind k : kinds) {
    std::printf("\n%-20s", (std::string("mean ") + corruption_kind_name(k)).c_str());
    for (std::size_t t = 0; t < iters.size(); ++t) std::printf("  %6.2f ", 100 * mean_of(t, k, false));
  }
  std::printf("\n%-20s", "mean corrupted");
  for (std::size_t t = 0; t < iters.size(); ++t) std::printf("  %6.2f ", 100 * mean_of(t, CorruptionKind::None, true));
  std::printf("\n\nretrieval stability, %s, T = %lld   top-5 consistency / top-1 cosine\n", block_of.c_str(),
              static_cast<long long>(stab_T));
  for (index_t ci = 0; ci < NC; ++ci) {
    const Stability& l = stab.local[static_cast<std::size_t>(ci)];
    const Stability& g = stab.global[static_cast<std::size_t>(ci)];
    std::printf("%-20s local %6.2f%% / %.3f   global %6.2f%% / %.3f\n", corr[static_cast<std::size_t>(ci)].name().c_str(),
                100 * l.consistency(), l.cosine(), 100 * g.consistency(), g.cosine());
  }

  // JSON
  Json j = Json::object(), acc = Json::object(), st = Json::object();
  j["model"] = md.model_path;
  j["data"] = md.test.name;
  j["images"] = n;
  j["seed"] = static_cast<std::int64_t>(seed);
  j["checkpoint_iters"] = own_T;
  for (std::size_t t = 0; t < iters.size(); ++t) {
    Json a = Json::object();
    a["clean"] = accuracy[t][0];
    for (index_t ci = 0; ci < NC; ++ci)
      a[corr[static_cast<std::size_t>(ci)].name()] = accuracy[t][static_cast<std::size_t>(ci + 1)];
    for (CorruptionKind k : kinds) a[std::string("mean ") + corruption_kind_name(k)] = mean_of(t, k, false);
    a["mean corrupted"] = mean_of(t, CorruptionKind::None, true);
    acc["T=" + std::to_string(iters[t])] = a;
  }
  j["accuracy"] = acc;
  st["block"] = last + 1;  // counted from 1, as `vhmn explain --block` and explain.json count (README)
  st["iters"] = stab_T;
  for (int p = 0; p < 2; ++p) {
    Json arr = Json::array();
    for (index_t ci = 0; ci < NC; ++ci) {
      const Stability& s = (p == 0 ? stab.local : stab.global)[static_cast<std::size_t>(ci)];
      Json e = Json::object();
      e["corruption"] = corruption_kind_name(corr[static_cast<std::size_t>(ci)].kind);
      e["severity"] = corr[static_cast<std::size_t>(ci)].severity;
      e["top5_consistency"] = s.consistency();
      e["cosine"] = s.cosine();
      e["queries"] = s.queries;
      arr.push_back(e);
    }
    st[p == 0 ? "local" : "global"] = arr;
  }
  j["stability"] = st;

  // plots
  std::filesystem::create_directories(out_dir);
  auto path = [&](const std::string& name) { return (std::filesystem::path(out_dir) / name).string(); };
  auto save = [&](const std::string& name, const std::string& text) {
    write_file_atomic(path(name), std::vector<std::uint8_t>(text.begin(), text.end()));
  };
  save("robustness.json", j.dump() + "\n");
  std::vector<std::string> svgs;
  const char* unit_names[3] = {"noise standard deviation", "occluded fraction of the image", "contrast factor"};
  const char* files[3] = {"accuracy_noise.svg", "accuracy_occlusion.svg", "accuracy_contrast.svg"};
  for (int k = 0; k < 3; ++k) {
    LinePlot plot;
    plot.title = std::string("Accuracy under ") + corruption_kind_name(kinds[k]);
    plot.x_label = unit_names[k];
    plot.y_label = "top-1 accuracy";
    for (std::size_t t = 0; t < iters.size(); ++t) {
      PlotSeries s;
      s.name = "T = " + std::to_string(iters[t]);
      std::vector<std::pair<double, double>> pts = {{kinds[k] == CorruptionKind::Contrast ? 1.0 : 0.0, accuracy[t][0]}};
      for (index_t ci = 0; ci < NC; ++ci)
        if (corr[static_cast<std::size_t>(ci)].kind == kinds[k])
          pts.push_back({corr[static_cast<std::size_t>(ci)].severity, accuracy[t][static_cast<std::size_t>(ci + 1)]});
      std::sort(pts.begin(), pts.end());
      for (auto& pt : pts) {
        s.x.push_back(pt.first);
        s.y.push_back(pt.second);
      }
      plot.series.push_back(s);
    }
    save(files[k], to_svg(plot));
    svgs.push_back(to_svg(plot));
  }
  {
    LinePlot plot;
    plot.title = "Accuracy vs refinement depth T";
    plot.x_label = "refinement steps T at inference";
    plot.y_label = "top-1 accuracy";
    const char* names[5] = {"clean", "mean corrupted", "mean noise", "mean occlusion", "mean contrast"};
    for (int sidx = 0; sidx < 5; ++sidx) {
      std::vector<std::pair<double, double>> pts;
      for (std::size_t t = 0; t < iters.size(); ++t) {
        const double v = sidx == 0 ? accuracy[t][0]
                         : sidx == 1 ? mean_of(t, CorruptionKind::None, true)
                                     : mean_of(t, kinds[sidx - 2], false);
        pts.push_back({double(iters[t]), v});
      }
      std::sort(pts.begin(), pts.end());
      PlotSeries s;
      s.name = names[sidx];
      for (auto& pt : pts) {
        s.x.push_back(pt.first);
        s.y.push_back(pt.second);
      }
      plot.series.push_back(s);
    }
    save("accuracy_depth.svg", to_svg(plot));
    svgs.push_back(to_svg(plot));
  }
  for (int k = 0; k < 2; ++k) {
    LinePlot plot;
    plot.title = std::string("Retrieval stability under ") + corruption_kind_name(kinds[k]) + " (" + block_of +
                 ", T = " + std::to_string(stab_T) + ")";
    plot.x_label = unit_names[k];
    plot.y_label = "fraction / cosine";
    for (int p = 0; p < 2; ++p)
      for (int m = 0; m < 2; ++m) {
        PlotSeries s;
        s.name = std::string(p == 0 ? "local" : "global") + (m == 0 ? " top-5 consist." : " top-1 cosine");
        s.x.push_back(0);
        s.y.push_back(1);
        for (index_t ci = 0; ci < NC; ++ci) {
          if (corr[static_cast<std::size_t>(ci)].kind != kinds[k]) continue;
          const Stability& q = (p == 0 ? stab.local : stab.global)[static_cast<std::size_t>(ci)];
          s.x.push_back(corr[static_cast<std::size_t>(ci)].severity);
          s.y.push_back(m == 0 ? q.consistency() : q.cosine());
        }
        plot.series.push_back(s);
      }
    save(k == 0 ? "stability_noise.svg" : "stability_occlusion.svg", to_svg(plot));
    svgs.push_back(to_svg(plot));
  }

  // report.html: the tables and the plots inline, no external assets
  std::ostringstream h;
  char cell[32];
  auto pct = [&](double v) {
    std::snprintf(cell, sizeof cell, "%.2f", 100 * v);
    return std::string(cell);
  };
  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>V-HMN robustness: " << xml_escape(md.model_path)
    << "</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
       "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;"
       "text-align:right}th{background:#f3f3f3}</style></head><body>\n<h1>Robustness</h1>\n<p>Model <code>"
    << xml_escape(md.model_path) << "</code> on the first " << n << " images of <code>" << xml_escape(md.test.name)
    << "</code>, corruption seed " << seed << ". Top-1 accuracy (%) with the refinement depth T overridden; the "
    << "checkpoint's own T is " << own_T << ".</p>\n<table><tr><th>corruption</th>";
  for (index_t T : iters) h << "<th>T = " << T << "</th>";
  h << "</tr>\n<tr><td>clean</td>";
  for (std::size_t t = 0; t < iters.size(); ++t) h << "<td>" << pct(accuracy[t][0]) << "</td>";
  h << "</tr>\n";
  for (index_t ci = 0; ci < NC; ++ci) {
    h << "<tr><td>" << corr[static_cast<std::size_t>(ci)].name() << "</td>";
    for (std::size_t t = 0; t < iters.size(); ++t) h << "<td>" << pct(accuracy[t][static_cast<std::size_t>(ci + 1)]) << "</td>";
    h << "</tr>\n";
  }
  for (int k = 0; k < 4; ++k) {
    h << "<tr><th>mean " << (k < 3 ? corruption_kind_name(kinds[k]) : "of all 11") << "</th>";
    for (std::size_t t = 0; t < iters.size(); ++t)
      h << "<th>" << pct(k < 3 ? mean_of(t, kinds[k], false) : mean_of(t, CorruptionKind::None, true)) << "</th>";
    h << "</tr>\n";
  }
  h << "</table>\n<h2>Retrieval stability (" << block_of << ", T = " << stab_T << ")</h2>\n<table><tr>"
       "<th>corruption</th><th>local top-5 consistency (%)</th><th>local top-1 cosine</th>"
       "<th>global top-5 consistency (%)</th><th>global top-1 cosine</th></tr>\n";
  for (index_t ci = 0; ci < NC; ++ci) {
    const Stability& l = stab.local[static_cast<std::size_t>(ci)];
    const Stability& g = stab.global[static_cast<std::size_t>(ci)];
    std::snprintf(cell, sizeof cell, "%.3f", l.cosine());
    const std::string lc = cell;
    std::snprintf(cell, sizeof cell, "%.3f", g.cosine());
    const std::string gc = cell;
    h << "<tr><td>" << corr[static_cast<std::size_t>(ci)].name() << "</td><td>" << pct(l.consistency()) << "</td><td>"
      << lc << "</td><td>" << pct(g.consistency()) << "</td><td>" << gc << "</td></tr>\n";
  }
  h << "</table>\n<h2>Plots</h2>\n";
  for (const std::string& svg : svgs) h << svg << "<br>\n";
  h << "</body></html>\n";
  save("report.html", h.str());
  std::printf("\nwrote %s (robustness.json, report.html and 6 SVG plots)\n", out_dir.c_str());
  return 0;
}

}  // namespace vhmn::cli
