// Trains a tiny model with single_include/vhmn/vhmn.hpp alone, built with
// -fno-exceptions and without OpenMP, and without stb on the include path:
// IDX files written here are read by the single header's reader, the Trainer
// fits a separable two-class problem, evaluation must reach 100%, and a
// gzipped IDX file is then refused through the error handler, naming it.
// The test passes only on the handler's message after a successful fit
// (ctest PASS_REGULAR_EXPRESSION), and the handler exits 1 if training failed.
#include "vhmn.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#if VHMN_HAS_EXCEPTIONS
#error "this test must be built with -fno-exceptions"
#endif
#if VHMN_HAS_OPENMP
#error "this test must be built without OpenMP"
#endif
#if VHMN_HAS_GZIP
#error "stb_image.h must not be on this test's include path"
#endif

namespace {

bool trained = false;
std::filesystem::path temp_dir;

[[noreturn]] void report(const char* message) {
  std::printf("handled: %s\n", message);
  std::fflush(stdout);
  std::error_code ec;
  std::filesystem::remove_all(temp_dir, ec);
  std::exit(trained ? 0 : 1);
}

void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

void write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main() {
  vhmn::set_error_handler(&report);
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("vhmn_single_train_" + std::to_string(std::rand()));
  fs::create_directories(dir);
  temp_dir = dir;

  // 40 images 8 x 8: class 0 has a bright left half, class 1 a bright right half, plus noise
  const std::uint32_t count = 40, side = 8;
  std::vector<std::uint8_t> images = {0, 0, 8, 3}, labels = {0, 0, 8, 1};
  put_be32(images, count);
  put_be32(images, side);
  put_be32(images, side);
  put_be32(labels, count);
  vhmn::Rng rng(5);
  for (std::uint32_t i = 0; i < count; ++i) {
    const int label = static_cast<int>(i % 2);
    labels.push_back(static_cast<std::uint8_t>(label));
    for (std::uint32_t y = 0; y < side; ++y)
      for (std::uint32_t x = 0; x < side; ++x) {
        const bool bright = (x < side / 2) == (label == 0);
        images.push_back(static_cast<std::uint8_t>((bright ? 180 : 40) + rng.below(40)));
      }
  }
  write((dir / "toy-images.idx").string(), images);
  write((dir / "toy-labels.idx").string(), labels);
  const vhmn::data::Dataset ds =
      vhmn::data::load_idx((dir / "toy-images.idx").string(), (dir / "toy-labels.idx").string(), {"left", "right"}, "toy");

  vhmn::ModelConfig c;
  c.image = 8;
  c.channels = 1;
  c.patch = 4;
  c.dim = c.latent = 16;
  c.depth = 1;
  c.local_slots = 8;
  c.global_slots = 4;
  c.classes = 2;
  vhmn::VHMN<float> model(c, 3);

  vhmn::data::LoaderOptions loader;
  loader.batch_size = 8;
  loader.num_workers = 1;  // one worker thread: threads work without exceptions too
  loader.seed = 1;
  vhmn::train::TrainOptions opt;
  opt.epochs = 12;
  opt.lr = 3e-3;
  const vhmn::data::Normalization norm = vhmn::data::compute_normalization(ds);
  vhmn::train::Trainer<float> trainer(model, ds, nullptr, norm, loader, opt);
  trainer.fit();
  const vhmn::train::EvalResult r = vhmn::train::evaluate(model, ds, norm);
  std::printf("trained: accuracy %.3f, loss %.4f\n", r.top1, r.loss);
  trained = r.top1 == 1.0;

  // a gzipped IDX file: this build has no inflater, so it is refused by name
  write((dir / "toy.gz").string(), {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3});
  const std::string gz = (dir / "toy.gz").string();
  vhmn::data::read_idx_images(gz);
  std::printf("the gzipped file was not refused\n");
  return 1;
}
