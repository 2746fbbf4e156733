// examples/train_fashion_mnist.cpp — drive the trainer from your own code.
//
// Trains a small V-HMN on (a slice of) Fashion-MNIST with a callback per
// step and per epoch, then classifies a few test images and shows which
// stored training samples the last block's global memory recalled for them.
//
//   example_train_fashion_mnist [DATA_DIR] [TRAIN_IMAGES] [EPOCHS]
#include <cstdio>
#include <cstdlib>

#include <vhmn/data/idx.hpp>
#include <vhmn/train/trainer.hpp>
#include <vhmn/vhmn.hpp>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const long train_images = argc > 2 ? std::atol(argv[2]) : 6000;
  const long epochs = argc > 3 ? std::atol(argv[3]) : 2;
  try {
    using namespace vhmn;
    data::Dataset train_set = data::load_fashion_mnist(dir, data::Split::Train);
    data::Dataset test_set = data::load_fashion_mnist(dir, data::Split::Test);
    std::vector<index_t> first(static_cast<std::size_t>(std::min<long>(train_images, train_set.size)));
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<index_t>(i);
    train_set = train_set.subset(first);

    // A smaller sibling of the fmnist-small preset, so the example runs in a minute.
    ModelConfig config = ModelConfig::preset("fmnist-small");
    config.dim = config.latent = 48;
    config.depth = 2;
    VHMN<float> model(config, /*seed=*/42);

    data::LoaderOptions loader;
    loader.batch_size = 64;
    loader.seed = 7;
    train::TrainOptions options;
    options.epochs = epochs;
    options.lr = 2e-3;
    options.warmup_epochs = 0.5;
    options.run_dir = "example_run";  // metrics.jsonl, last/best.safetensors

    const data::Normalization norm = data::compute_normalization(train_set);
    train::Trainer<float> trainer(model, train_set, &test_set, norm, loader, options);
    trainer.on_step = [](const train::StepInfo& s) {
      if (s.step % 25 == 0)
        std::printf("  epoch %lld step %lld/%lld  loss %.3f\n", static_cast<long long>(s.epoch + 1),
                    static_cast<long long>(s.step), static_cast<long long>(s.steps_per_epoch), s.running_loss);
    };
    trainer.on_epoch = [](const train::EpochStats& e) {
      std::printf("epoch %lld: train acc %.3f, test acc %.3f, %.0f images/s\n", static_cast<long long>(e.epoch),
                  e.train_acc, e.test_acc, e.images_per_s);
    };
    trainer.fit();

    // Inference on three test images, and what the last global memory recalled.
    model.eval();
    Tensor<float> images({3, 1, 28, 28});
    for (index_t b = 0; b < 3; ++b)
      data::normalize_image(test_set.image(b), 1, 28 * 28, norm, images.data() + b * 28 * 28);
    const float* logits = model.forward(images.data(), 3);
    const auto& refine = model.blocks.back()->global.path.refine;
    const auto& bank = model.blocks.back()->global.path.bank;
    for (index_t b = 0; b < 3; ++b) {
      const index_t pred = std::max_element(logits + b * 10, logits + b * 10 + 10) - (logits + b * 10);
      std::printf("test image %lld: true %s, predicted %s", static_cast<long long>(b),
                  test_set.class_names[static_cast<std::size_t>(test_set.labels[static_cast<std::size_t>(b)])].c_str(),
                  test_set.class_names[static_cast<std::size_t>(pred)].c_str());
      if (refine.steps_run() > 0) {
        const float* w = refine.attention(refine.steps_run() - 1) + b * static_cast<index_t>(refine.slot_ids().size());
        const auto best = std::max_element(w, w + refine.slot_ids().size()) - w;
        const index_t slot = refine.slot_ids()[static_cast<std::size_t>(best)];
        std::printf("; strongest global recall: training image #%lld (a %s), weight %.3f",
                    static_cast<long long>(bank.source_index()[static_cast<std::size_t>(slot)]),
                    test_set.class_names[static_cast<std::size_t>(bank.slot_class(slot))].c_str(), w[best]);
      }
      std::printf("\n");
    }
  } catch (const vhmn::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
