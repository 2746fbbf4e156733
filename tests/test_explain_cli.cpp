// `vhmn explain` and `vhmn robustness` end to end, on a small CIFAR-format
// data set written here: both run and write what they promise, and both
// reject a missing or mismatched model/data pair with a clear error.
// The commands' sources are compiled into this test directly.
#include <doctest/doctest.h>

#include "../tools/vhmn/cmd_explain.cpp"
#include "../tools/vhmn/cmd_robustness.cpp"
#include "test_capture.hpp"
#include "test_data_util.hpp"

namespace {

using namespace vhmn;
using vhmn_test_data::TempDir;

struct CliFixture {
  TempDir dir{"explain_cli"};
  std::string data;
  data::Dataset train;
  data::Normalization norm;

  CliFixture() {
    data = dir / "cifar";
    for (int b = 1; b <= 5; ++b) {
      std::vector<int> labels;
      for (int r = 0; r < 4; ++r) labels.push_back(((b - 1) * 4 + r) % 10);
      vhmn_test_data::write_bytes(data + "/data_batch_" + std::to_string(b) + ".bin",
                                  vhmn_test_data::cifar_records(labels, (b - 1) * 4));
    }
    vhmn_test_data::write_bytes(data + "/test_batch.bin",
                                vhmn_test_data::cifar_records({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 100));
    train = data::load_cifar10(data, data::Split::Train);
    norm = data::compute_normalization(train);
  }

  static ModelConfig config() {
    ModelConfig c;
    c.image = 32;
    c.channels = 3;
    c.patch = 8;
    c.dim = 8;
    c.latent = 8;
    c.depth = 2;
    c.local_slots = 20;
    c.global_slots = 10;
    c.classes = 10;
    c.iters = 1;
    return c;
  }

  /// A model whose banks were written by the training images (ids + id_offset),
  /// saved with normalisation and class names; returns its path.
  std::string checkpoint(const std::string& name, const ModelConfig& c, std::int64_t id_offset = 0,
                         std::vector<std::string> names = {}) {
    VHMN<float> model(c, 1);
    if (c.image == 32 && c.channels == 3 && c.classes == 10) {
      Tensor<float> images;
      std::vector<index_t> all;
      for (index_t i = 0; i < train.size; ++i) all.push_back(i);
      data::normalize_images(train, all, norm, images);
      std::vector<std::int64_t> ids(train.source_index);
      for (auto& v : ids) v += id_offset;
      model.train();
      model.forward(images.data(), train.size);
      model.remember(train.labels.data(), ids.data());
    }
    if (names.empty()) names = train.class_names;
    names.resize(static_cast<std::size_t>(c.classes), "x");
    const std::string path = dir / (name + ".safetensors");
    data::Normalization n = norm;
    n.mean.resize(static_cast<std::size_t>(c.channels), 0.5);
    n.std.resize(static_cast<std::size_t>(c.channels), 0.25);
    save_checkpoint(path, model, io::DType::F32, train::normalization_metadata(n, names));
    return path;
  }

  std::vector<std::string> args(const std::string& model, const std::string& out) const {
    return {"--model", model, "--data", "cifar10", "--data-dir", data, "--out", out, "--threads", "1"};
  }
};

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("vhmn explain: panels, profiles, hit rates and a self-contained report") {
  CliFixture fx;
  const std::string model = fx.checkpoint("good", CliFixture::config());
  const std::string out = fx.dir / "explain";
  auto a = fx.args(model, out);
  a.insert(a.end(), {"--images", "0,3", "--top", "3"});
  REQUIRE(cli::cmd_explain(a) == 0);
  for (const char* f : {"report.html", "explain.json", "panel_0.png", "panel_3.png", "profile_local.png",
                        "profile_global.png"})
    CHECK(std::filesystem::exists(out + "/" + f));
  const auto png = read_all(out + "/panel_3.png");
  int w = 0, h = 0;
  std::vector<std::uint8_t> px;
  std::string why;
  CHECK(vhmn::detail::stb_decode_image(png.data(), png.size(), 3, w, h, px, why));
  CHECK(w > 200);
  const auto html_bytes = read_all(out + "/report.html");
  const std::string html(html_bytes.begin(), html_bytes.end());
  CHECK(html.find("data:image/png;base64,") != std::string::npos);
  CHECK(html.find("src=\"http") == std::string::npos);
  CHECK(html.find("Retrieval hit rates") != std::string::npos);
  // pictures shown at twice their size, crisp; blocks counted from 1 (this model has 2 blocks)
  CHECK(html.find("image-rendering:pixelated") != std::string::npos);
  CHECK(html.find("\" width=\"" + std::to_string(2 * w) + "\">") != std::string::npos);
  CHECK(html.find("Block 1 of 2, local") != std::string::npos);
  CHECK(html.find("Block 2 of 2, global") != std::string::npos);
  CHECK(html.find("Block 0") == std::string::npos);
  const auto json_bytes = read_all(out + "/explain.json");
  const io::Json j = io::Json::parse(std::string(json_bytes.begin(), json_bytes.end()), "explain.json");
  CHECK(j.at("hit_rates").at("global").at("queries").as_int64() == 10);
  CHECK(j.at("hit_rates").at("local").at("queries").as_int64() == 10 * 16);
  REQUIRE(j.at("images").size() == 2);
  const io::Json& top = j.at("images").at(1).at("blocks").at(0).at("global").at(0);
  CHECK(top.at("train_index").as_int64() >= 0);
  CHECK(top.at("train_index").as_int64() < 20);
}

TEST_CASE("vhmn explain: profile_local.png has a colour bar and 2-pixel green frames around each class's own slots") {
  // The profile had no colour scale, and 1-pixel red frames that were hard to see among the heat map's reds.
  CliFixture fx;
  const ModelConfig c = CliFixture::config();
  const std::string model = fx.checkpoint("good", c);
  const std::string out = fx.dir / "explain";
  auto a = fx.args(model, out);
  a.insert(a.end(), {"--images", "0"});
  {
    vhmn_test_capture::CaptureStdout quiet(fx.dir / "explain.txt");
    REQUIRE(cli::cmd_explain(a) == 0);
  }
  const auto png = read_all(out + "/profile_local.png");
  int w = 0, h = 0;
  std::vector<std::uint8_t> px;
  std::string why;
  REQUIRE(vhmn::detail::stb_decode_image(png.data(), png.size(), 3, w, h, px, why));
  auto at = [&](int x, int y) {
    const std::uint8_t* p = px.data() + (static_cast<std::size_t>(y) * w + x) * 3;
    return explain::Rgb{p[0], p[1], p[2]};
  };
  auto same = [](explain::Rgb p, explain::Rgb q) { return p.r == q.r && p.g == q.g && p.b == q.b; };
  // the colour bar: one row that runs from the map's lowest colour to its highest through at least 100 others
  // (a heat-map row has one colour per slot: 20 here)
  const explain::Rgb lo = cli::explain_cmd::heat(0), hi = cli::explain_cmd::heat(1);
  int bar_rows = 0;
  for (int y = 0; y < h; ++y) {
    int from = -1, colours = 0;
    explain::Rgb last{};
    for (int x = 0; x < w; ++x) {
      if (from < 0 && same(at(x, y), lo)) from = x;
      if (from < 0) continue;
      colours += !same(at(x, y), last);
      last = at(x, y);
      if (same(at(x, y), hi)) {
        bar_rows += colours >= 100;
        break;
      }
    }
  }
  CHECK(bar_rows >= 5);  // 10 pixels high
  // own-class frames: per class a frame around its S_l / K slots, top and bottom edges 2 pixels thick:
  // rows holding a green run as wide as the frame, 4 per class
  const int frame_width = static_cast<int>(c.local_slots / c.classes) * std::max(1, 640 / static_cast<int>(c.local_slots));
  int edge_rows = 0;
  for (int y = 0; y < h; ++y) {
    int run = 0, longest = 0;
    for (int x = 0; x < w; ++x) {
      run = same(at(x, y), cli::explain_cmd::kOwnClass) ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    edge_rows += longest >= frame_width;
  }
  CHECK(edge_rows == 4 * c.classes);
}

TEST_CASE("vhmn robustness: accuracy per corruption and T, stability, JSON and plots") {
  CliFixture fx;
  const std::string model = fx.checkpoint("good", CliFixture::config());
  const std::string out = fx.dir / "robust";
  auto a = fx.args(model, out);
  a.insert(a.end(), {"--limit", "4", "--iters", "0,2"});
  std::string printed;
  {
    vhmn_test_capture::CaptureStdout capture(fx.dir / "robustness.txt");
    REQUIRE(cli::cmd_robustness(a) == 0);
    printed = capture.text();
  }
  // text for people counts blocks from 1, as `vhmn explain` does: the last of this model's 2 blocks is
  // "block 2 of 2" (it said "block 1") on stdout, in the report and on the stability plots
  auto read_text = [&](const std::string& name) {
    const auto bytes = read_all(out + "/" + name);
    return std::string(bytes.begin(), bytes.end());
  };
  CHECK(printed.find("retrieval stability, block 2 of 2, T = 1 ") != std::string::npos);
  CHECK(read_text("report.html").find("<h2>Retrieval stability (block 2 of 2, T = 1)</h2>") != std::string::npos);
  for (const char* svg : {"stability_noise.svg", "stability_occlusion.svg"})
    CHECK(read_text(svg).find("(block 2 of 2, T = 1)") != std::string::npos);
  for (const std::string& text : {printed, read_text("report.html"), read_text("stability_noise.svg")})
    CHECK(text.find("block 1,") == std::string::npos);
  const auto json_bytes = read_all(out + "/robustness.json");
  const io::Json j = io::Json::parse(std::string(json_bytes.begin(), json_bytes.end()), "robustness.json");
  CHECK(j.at("images").as_int64() == 4);
  CHECK(j.at("accuracy").contains("T=0"));
  CHECK(j.at("accuracy").contains("T=2"));
  CHECK(j.at("accuracy").contains("T=1"));  // the checkpoint's own T, for stability
  CHECK(j.at("accuracy").at("T=0").contains("occlusion 0.20"));
  CHECK(j.at("stability").at("local").size() == 11);
  CHECK(j.at("stability").at("block").as_int64() == 2);  // the last of 2, counted from 1 as --block (README)
  CHECK(j.at("stability").at("global").at(0).at("queries").as_int64() == 4);
  for (const char* f : {"report.html", "accuracy_noise.svg", "accuracy_occlusion.svg", "accuracy_contrast.svg", "accuracy_depth.svg",
                        "stability_noise.svg", "stability_occlusion.svg"})
    CHECK(std::filesystem::exists(out + "/" + f));
}

TEST_CASE("vhmn explain / robustness reject a missing or mismatched model/data pair") {
  CliFixture fx;
  const std::string good = fx.checkpoint("good", CliFixture::config());
  ModelConfig small = CliFixture::config();
  small.image = 16;
  const std::string size16 = fx.checkpoint("size16", small);
  ModelConfig grey = CliFixture::config();
  grey.channels = 1;
  const std::string grey_model = fx.checkpoint("grey", grey);
  ModelConfig five = CliFixture::config();
  five.classes = 5;
  const std::string five_model = fx.checkpoint("five", five);
  const std::string renamed = fx.checkpoint("renamed", CliFixture::config(), 0, {"a", "b", "c", "d", "e", "f", "g",
                                                                                   "h", "i", "j"});
  const std::string foreign = fx.checkpoint("foreign", CliFixture::config(), 1000);

  using Cmd = int (*)(const std::vector<std::string>&);
  const std::pair<const char*, Cmd> cmds[] = {{"explain", cli::cmd_explain}, {"robustness", cli::cmd_robustness}};
  for (const auto& named : cmds) {
    const std::string name = named.first;
    const Cmd cmd = named.second;
    CAPTURE(name);
    const std::string out = fx.dir / (std::string("out_") + name);
    CHECK_THROWS_WITH_AS(cmd(fx.args(fx.dir / "missing.safetensors", out)), doctest::Contains("does not exist"),
                         Error);
    auto no_data = fx.args(good, out);
    no_data[5] = fx.dir / "no-such-dir";
    CHECK_THROWS_WITH_AS(cmd(no_data), doctest::Contains("no-such-dir does not exist"), Error);
    CHECK_THROWS_WITH_AS(cmd(fx.args(size16, out)), doctest::Contains("takes 3x16x16 images"), Error);
    CHECK_THROWS_WITH_AS(cmd(fx.args(grey_model, out)), doctest::Contains("takes 1x32x32 images"), Error);
    CHECK_THROWS_WITH_AS(cmd(fx.args(five_model, out)), doctest::Contains("has 5 classes"), Error);
    CHECK_THROWS_WITH_AS(cmd(fx.args(renamed, out)), doctest::Contains("was trained on the classes [a, b"), Error);
    CHECK_THROWS_WITH_AS(cmd({"--data", "cifar10"}), doctest::Contains("--model"), Error);
    CHECK_FALSE(std::filesystem::exists(out));
  }
  // --block counts from 1, as the pictures do: 0 and depth + 1 are refused, naming the range
  for (const char* b : {"0", "3"}) {
    auto a = fx.args(good, fx.dir / "out_block");
    a.insert(a.end(), {"--block", b});
    CHECK_THROWS_WITH_AS(cli::cmd_explain(a),
                         ("--block " + std::string(b) + ": must be between 1 and 2 (this model has 2 blocks, counted "
                                                        "from 1)")
                             .c_str(),
                         cli::UsageError);
  }
  CHECK_FALSE(std::filesystem::exists(fx.dir / "out_block"));
  // explain needs the training images that wrote the slots
  CHECK_THROWS_WITH_AS(cli::cmd_explain(fx.args(foreign, fx.dir / "out_foreign")),
                       doctest::Contains("has no such image"), Error);
}

TEST_CASE("vhmn explain: report.html loads in headless Chromium with every picture decoded") {
  std::string browser;
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"})
    if (std::system(("command -v " + std::string(name) + " >/dev/null 2>&1").c_str()) == 0) {
      browser = name;
      break;
    }
  if (browser.empty()) {
    MESSAGE("skipped: no headless browser (Debian: apt-get install chromium)");
    return;
  }
  CliFixture fx;
  const std::string model = fx.checkpoint("good", CliFixture::config());
  const std::string out = fx.dir / "explain";
  auto a = fx.args(model, out);
  a.insert(a.end(), {"--images", "0,3"});
  REQUIRE(cli::cmd_explain(a) == 0);
  // the report plus a script that, once loaded, counts the pictures the browser decoded
  const auto html_bytes = read_all(out + "/report.html");
  std::string html(html_bytes.begin(), html_bytes.end());
  html.insert(html.rfind("</body>"),
              "<script>window.addEventListener('load',function(){var all=document.images,ok=0;"
              "for(var i=0;i<all.length;i++)if(all[i].complete&&all[i].naturalWidth>0)ok++;"
              "document.body.setAttribute('data-decoded',ok+' of '+all.length);});</script>");
  vhmn_test_data::write_text(fx.dir / "probe.html", html);
  const std::string dom = fx.dir / "dom.html";
  const std::string cmd = browser + " --headless --no-sandbox --disable-gpu --virtual-time-budget=10000 --dump-dom 'file://" +
                          fx.dir / "probe.html" + "' > '" + dom + "' 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto dom_bytes = read_all(dom);
  const std::string text(dom_bytes.begin(), dom_bytes.end());
  // 2 profiles + 2 panels
  CHECK(text.find("data-decoded=\"4 of 4\"") != std::string::npos);
}

namespace {

/// Both files were written with the library's io::Json before nlohmann/json. io::Json reads the new text back
/// to the same values, members in the same order, and the text is compact (no spaces), as io::Json wrote it.
/// Not the same digits: nlohmann writes a double with Grisu2, which now and then gives 17 digits where
/// io::Json's shortest of %.15g..%.17g gives 16 (CI's clang + BLAS build met 0.25756877660751343 against
/// 0.2575687766075134); both read back to the same double, so the values are compared, not the bytes.
void check_io_json_reads_back(const std::string& text, const char* name) {
  const std::string rewritten = io::Json::parse(text, name).dump() + "\n";
  const auto original = nlohmann::ordered_json::parse(text);
  CHECK(nlohmann::ordered_json::parse(rewritten) == original);  // ordered_json compares members in order
  CHECK(original.dump() + "\n" == text);                         // compact, one line
}

}  // namespace

TEST_CASE("vhmn explain.json and robustness.json: io::Json reads them back equal, members in the same order") {
  CliFixture fx;
  const std::string model = fx.checkpoint("good", CliFixture::config());
  auto a = fx.args(model, fx.dir / "explain");
  a.insert(a.end(), {"--images", "0,3", "--top", "3"});
  REQUIRE(cli::cmd_explain(a) == 0);
  const auto e_bytes = read_all(fx.dir / "explain/explain.json");
  const std::string e_text(e_bytes.begin(), e_bytes.end());
  check_io_json_reads_back(e_text, "explain.json");
  auto keys = [](const nlohmann::ordered_json& o) {
    std::string s;
    for (auto it = o.begin(); it != o.end(); ++it) s += (s.empty() ? "" : ",") + it.key();
    return s;
  };
  const auto ej = nlohmann::ordered_json::parse(e_text);
  // content_threshold, patch_pixel_range and most_attended_token are new (the content rule); the rest as before
  CHECK(keys(ej) == "model,data,images_evaluated,accuracy,block,content_threshold,hit_rates,own_class_weight,images");
  CHECK(keys(ej["hit_rates"]["local"]) == "queries,top1,top5,chance_top1,chance_top5");
  CHECK(keys(ej["images"][0]) ==
        "index,label,predicted,confidence,token,pool_weight,patch_pixel_range,most_attended_token,blocks,panel");
  const auto& hit = ej["images"][0]["blocks"][0]["local"][0];
  CHECK(keys(hit) == (hit["token"].get<int>() >= 0 ? "slot,weight,class,train_index,token,token_row,token_col"
                                                    : "slot,weight,class,train_index,token"));
  CHECK(keys(ej["images"][0]["blocks"][0]["global"][0]) == "slot,weight,class,train_index,token");

  auto r = fx.args(model, fx.dir / "robust");
  r.insert(r.end(), {"--limit", "4", "--iters", "0,2"});
  REQUIRE(cli::cmd_robustness(r) == 0);
  const auto r_bytes = read_all(fx.dir / "robust/robustness.json");
  const std::string r_text(r_bytes.begin(), r_bytes.end());
  check_io_json_reads_back(r_text, "robustness.json");
  const auto rj = nlohmann::ordered_json::parse(r_text);
  CHECK(keys(rj) == "model,data,images,seed,checkpoint_iters,accuracy,stability");
  CHECK(keys(rj["stability"]["local"][0]) == "corruption,severity,top5_consistency,cosine,queries");
}

namespace {

/// Brightest minus darkest pixel of token t's p x p patch in a grey side x side image (the test's own count).
int patch_range(const std::uint8_t* img, int side, int p, index_t t) {
  const int g = side / p, r0 = static_cast<int>(t / g) * p, c0 = static_cast<int>(t % g) * p;
  int lo = 255, hi = 0;
  for (int r = r0; r < r0 + p; ++r)
    for (int c = c0; c < c0 + p; ++c) {
      lo = std::min<int>(lo, img[r * side + c]);
      hi = std::max<int>(hi, img[r * side + c]);
    }
  return hi - lo;
}

/// n Fashion-MNIST-like 28x28 images, white-on-black as the real ones: black
/// background, an 8x8 textured "garment" (2 x 2 patches of 4) whose place
/// depends on the image.
vhmn_test_data::Bytes garment_images(int n, int seed) {
  vhmn_test_data::Bytes px(static_cast<std::size_t>(n) * 28 * 28, 0);
  for (int i = 0; i < n; ++i) {
    const int r0 = 4 * ((i * 2 + seed) % 6), c0 = 4 * ((i * 5 + seed) % 6);
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c)
        px[static_cast<std::size_t>(i * 784 + (r0 + r) * 28 + c0 + c)] =
            static_cast<std::uint8_t>(100 + (r * 37 + c * 11 + i * 5) % 156);
  }
  return px;
}

}  // namespace

TEST_CASE("vhmn explain on Fashion-MNIST: the patch shown is the heaviest with content, not black background") {
  // Fashion-MNIST format, written here: a model whose heaviest pool token for some test image is plain
  // background (found by running it), then explain must show the heaviest patch that has content.
  TempDir dir("explain_fmnist");
  const std::string data = dir / "fmnist";
  vhmn_test_data::Bytes train_labels, test_labels;
  for (int i = 0; i < 20; ++i) {
    train_labels.push_back(static_cast<std::uint8_t>(i % 10));
    test_labels.push_back(static_cast<std::uint8_t>((i * 3) % 10));
  }
  vhmn_test_data::write_bytes(data + "/train-images-idx3-ubyte",
                              vhmn_test_data::idx_images(20, 28, 28, garment_images(20, 0)));
  vhmn_test_data::write_bytes(data + "/train-labels-idx1-ubyte", vhmn_test_data::idx_labels(train_labels));
  vhmn_test_data::write_bytes(data + "/t10k-images-idx3-ubyte",
                              vhmn_test_data::idx_images(20, 28, 28, garment_images(20, 1)));
  vhmn_test_data::write_bytes(data + "/t10k-labels-idx1-ubyte", vhmn_test_data::idx_labels(test_labels));
  const data::Dataset train = data::load_fashion_mnist(data, data::Split::Train);
  const data::Dataset test = data::load_fashion_mnist(data, data::Split::Test);
  const data::Normalization norm = data::compute_normalization(train);
  set_num_threads(1);  // as explain runs below (--threads 1): the same sums in the same order

  ModelConfig c;
  c.image = 28;
  c.channels = 1;
  c.patch = 4;
  c.dim = c.latent = 8;
  c.depth = 1;
  c.local_slots = 20;
  c.global_slots = 10;
  c.classes = 10;
  c.iters = 1;
  const int p = 4, N = 49, threshold = cli::explain_cmd::kContentRange;
  const std::string model_path = dir / "model.safetensors";
  index_t image = -1, heaviest = -1;
  std::vector<float> weights;  // the pool weights of that image
  for (std::uint64_t seed = 1; seed <= 30 && image < 0; ++seed) {
    VHMN<float> model(c, seed);
    std::vector<index_t> all;
    for (index_t i = 0; i < train.size; ++i) all.push_back(i);
    Tensor<float> images;
    data::normalize_images(train, all, norm, images);
    model.train();
    model.forward(images.data(), train.size);
    model.remember(train.labels.data(), train.source_index.data());
    save_checkpoint(model_path, model, io::DType::F32, train::normalization_metadata(norm, train.class_names));
    // the saved model as explain loads it, one test image at a time as explain runs one chosen image
    const io::SafetensorsFile file = io::read_safetensors(model_path);
    auto loaded = load_model<float>(file, model_path);
    loaded->eval();
    data::Normalization saved_norm;
    std::vector<std::string> names;
    REQUIRE(train::normalization_from_metadata(file.metadata, saved_norm, names, model_path));
    for (index_t i = 0; i < test.size && image < 0; ++i) {
      Tensor<float> one;
      data::normalize_images(test, {i}, saved_norm, one);
      loaded->forward(one.data(), 1);
      const index_t t = explain::most_informative_token(*loaded, 0);
      if (patch_range(test.image(i), 28, p, t) < threshold) {
        image = i;
        heaviest = t;
        const float* w = explain::pool_weights(*loaded).data();
        weights.assign(w, w + N);
      }
    }
  }
  REQUIRE_MESSAGE(image >= 0, "no model seed gave a test image whose heaviest token is background");
  CAPTURE(image);
  CAPTURE(heaviest);

  const std::string out = dir / "explain";
  REQUIRE(cli::cmd_explain({"--model", model_path, "--data", "fashion-mnist", "--data-dir", data, "--out", out,
                            "--images", std::to_string(image), "--threads", "1"}) == 0);
  const auto bytes = read_all(out + "/explain.json");
  const auto j = nlohmann::json::parse(std::string(bytes.begin(), bytes.end()));
  CHECK(j["content_threshold"].get<int>() == threshold);
  const auto& e = j["images"][0];
  REQUIRE(e["index"].get<index_t>() == image);
  const index_t shown = e["token"].get<index_t>();
  CAPTURE(shown);
  CHECK(e["most_attended_token"].get<index_t>() == heaviest);
  // the patch shown has content (counted here from the image itself), and explain.json says how much
  CHECK(patch_range(test.image(image), 28, p, shown) >= threshold);
  CHECK(e["patch_pixel_range"].get<int>() == patch_range(test.image(image), 28, p, shown));
  CHECK(shown != heaviest);
  // and it is the heaviest of the patches with content
  for (index_t t = 0; t < N; ++t)
    if (patch_range(test.image(image), 28, p, t) >= threshold) CHECK(weights[static_cast<std::size_t>(t)] <= weights[static_cast<std::size_t>(shown)]);
  CHECK(e["pool_weight"].get<double>() == doctest::Approx(weights[static_cast<std::size_t>(shown)]));
}
