// examples/finetune_image_folder.cpp — fine-tune a Fashion-MNIST model on a
// small folder of images with new classes: first the head alone (frozen
// backbone), then every layer.
//
//   example_finetune_image_folder [FASHION_DIR] [WORK_DIR]
//
// Self-contained for ctest: it pre-trains a tiny model on a slice of
// Fashion-MNIST for a few steps itself (or starts from random weights when
// the data set is not installed), and writes its own folder of PNGs with
// three new classes (stripes, checks, rings) under WORK_DIR/folder.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <vhmn/data/idx.hpp>
#include <vhmn/data/image_folder.hpp>
#include <vhmn/explain/png.hpp>
#include <vhmn/train/trainer.hpp>
#include <vhmn/vhmn.hpp>

namespace fs = std::filesystem;
using namespace vhmn;

// WORK_DIR/folder/<class>/<i>.png: 28x28 grey patterns with random phase and noise.
static void write_folder(const fs::path& root, int per_class) {
  const char* names[3] = {"checks", "rings", "stripes"};
  Rng rng(11);
  for (int c = 0; c < 3; ++c) {
    fs::create_directories(root / names[c]);
    for (int i = 0; i < per_class; ++i) {
      std::vector<std::uint8_t> px(28 * 28);
      const double phase = rng.uniform() * 6.28, period = 4 + rng.below(4);
      for (int y = 0; y < 28; ++y)
        for (int x = 0; x < 28; ++x) {
          double v = 0;
          if (c == 0) v = (int(x / (period / 2)) + int(y / (period / 2))) % 2;
          if (c == 1) v = 0.5 + 0.5 * std::sin(std::hypot(x - 13.5, y - 13.5) * 6.28 / period + phase);
          if (c == 2) v = 0.5 + 0.5 * std::sin(x * 6.28 / period + phase);
          v = std::clamp(v * 200 + 25 + rng.normal() * 20, 0.0, 255.0);
          px[static_cast<std::size_t>(y * 28 + x)] = static_cast<std::uint8_t>(v);
        }
      explain::write_file_atomic((root / names[c] / (std::to_string(i) + ".png")).string(),
                                 explain::encode_png_rgb(px.data(), 28, 28, 1));
    }
  }
}

int main(int argc, char** argv) {
  const std::string fashion = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const fs::path work = argc > 2 ? argv[2] : "example_finetune";
  try {
    ModelConfig config = ModelConfig::preset("fmnist-small");
    config.dim = config.latent = 24;
    config.depth = 2;
    config.local_slots = 100;
    config.global_slots = 50;
    VHMN<float> model(config, /*seed=*/1);
    data::LoaderOptions loader;
    loader.batch_size = 32;
    loader.seed = 2;
    train::TrainOptions options;
    options.epochs = 1;
    options.lr = 3e-3;

    // 1. A "pre-trained" Fashion-MNIST backbone: 1500 images, one epoch.
    if (fs::exists(fs::path(fashion) / "train-labels-idx1-ubyte.gz")) {
      data::Dataset fm = data::load_fashion_mnist(fashion, data::Split::Train);
      std::vector<index_t> first(1500);
      for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<index_t>(i);
      fm = fm.subset(first);
      train::Trainer<float> pretrain(model, fm, nullptr, data::compute_normalization(fm), loader, options);
      pretrain.on_epoch = [](const train::EpochStats& e) {
        std::printf("pre-training on Fashion-MNIST: train acc %.3f\n", e.train_acc);
      };
      pretrain.fit();
    } else {
      std::printf("Fashion-MNIST not found in %s: fine-tuning from random weights\n", fashion.c_str());
    }

    // 2. The new data: a folder of PNGs with three classes.
    fs::remove_all(work);
    write_folder(work / "folder", 24);
    data::ImageFolderOptions io;
    io.channels = 1;
    io.height = io.width = 28;
    const data::Dataset folder = data::load_image_folder((work / "folder").string(), io);
    std::printf("image folder: %lld images, classes", static_cast<long long>(folder.size));
    for (const auto& n : folder.class_names) std::printf(" %s", n.c_str());
    std::printf("\n");
    const data::Normalization norm = data::compute_normalization(folder);

    // 3. A new head for 3 classes (slots rounded to multiples of 3, banks cleared).
    model.reset_classifier(folder.classes);
    std::printf("reset_classifier(%lld): local slots %lld, global slots %lld\n",
                static_cast<long long>(folder.classes), static_cast<long long>(model.config().local_slots),
                static_cast<long long>(model.config().global_slots));

    // 4. Frozen backbone: only the head trains (the backward stops at the head).
    model.freeze("*");
    model.unfreeze("head.*");
    options.epochs = 4;
    options.lr = 1e-2;
    double acc = 0;
    auto report = [&acc](const char* stage) {
      return [stage, &acc](const train::EpochStats& e) {
        acc = e.test_acc;
        std::printf("%s epoch %lld: train loss %.3f, accuracy %.3f\n", stage, static_cast<long long>(e.epoch),
                    e.train_loss, e.test_acc);
      };
    };
    {
      train::Trainer<float> head_only(model, folder, &folder, norm, loader, options);
      head_only.on_epoch = report("head only ");
      head_only.fit();
    }
    // 5. Every layer, at a lower rate.
    model.unfreeze("*");
    options.lr = 2e-3;
    {
      train::Trainer<float> all(model, folder, &folder, norm, loader, options);
      all.on_epoch = report("all layers");
      all.fit();
    }
    save_checkpoint((work / "finetuned.safetensors").string(), model);
    std::printf("final accuracy %.3f (chance 0.333); wrote %s\n", acc,
                (work / "finetuned.safetensors").string().c_str());
    return acc > 0.5 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
