// vhmn/train/whitening.hpp — patch-embedding initialisation from whitened patches.
//
// What this represents: the first layer of the CIFAR-10 speed-run convnets
// (airbench) starts as a whitening transform of image patches instead of
// random filters. Here: with `P` = C*p*p values per patch (vec order of
// docs/spec.md §1), the covariance of the training set's normalised patches
//   Sigma = E[(x - mu)(x - mu)^T] = V diag(lambda) V^T,  lambda descending,
// gives the filters  w_i = gain * v_i / sqrt(lambda_i + eps)  for the first
// min(D, P) rows of `patch_embed.weight` (one per eigenvector, largest
// variance first): the embedded patches then have uncorrelated components
// of variance gain^2. The bias is set to -W mu so they are centred. Rows
// past P keep their random initialisation; `pos_embed` is not touched.
// Only the initial value changes: the layer trains as before.
// Ensures: deterministic for a given data set, options and model (patches
// are taken from `max_images` images evenly spaced through the set, every
// non-overlapping patch of each).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "vhmn/core/eigen.hpp"
VHMN_THIRD_PARTY_INCLUDES_BEGIN
#include <Eigen/Eigenvalues>  // SelfAdjointEigenSolver: only this header needs it
VHMN_THIRD_PARTY_INCLUDES_END
#include "vhmn/data/dataset.hpp"
#include "vhmn/data/normalize.hpp"
#include "vhmn/nn/vhmn_model.hpp"

namespace vhmn::train {

struct WhiteningOptions {
  index_t max_images = 5000;  // images sampled for the covariance
  double eps = 5e-4;          // added to each eigenvalue (normalised units)
  double gain = 1.0;          // std of each whitened component
};

/// Mean (P) and covariance (P x P, row-major) of the normalised p x p patches
/// of `ds`, in the vec order of patch_embed.weight.
inline void patch_statistics(const data::Dataset& ds, const data::Normalization& norm, index_t patch,
                             index_t max_images, std::vector<double>& mean, std::vector<double>& cov) {
  VHMN_CHECK(ds.size > 0, "whitening: data set '" << ds.name << "' is empty");
  VHMN_CHECK(patch > 0 && ds.height % patch == 0 && ds.width % patch == 0,
             "whitening: patch size " << patch << " does not tile " << ds.height << "x" << ds.width << " images");
  const index_t C = ds.channels, H = ds.height, W = ds.width, P = C * patch * patch;
  const index_t n_img = std::min(std::max<index_t>(1, max_images), ds.size);
  const auto lut = data::normalization_lut<double>(norm);
  std::vector<double> img(static_cast<std::size_t>(C * H * W)), x(static_cast<std::size_t>(P));
  mean.assign(static_cast<std::size_t>(P), 0.0);
  cov.assign(static_cast<std::size_t>(P * P), 0.0);
  double count = 0;
  for (index_t s = 0; s < n_img; ++s) {
    const index_t idx = s * ds.size / n_img;  // evenly spaced through the set
    data::normalize_image(ds.image(idx), C, H * W, lut, img.data());
    for (index_t r0 = 0; r0 < H; r0 += patch)
      for (index_t c0 = 0; c0 < W; c0 += patch) {
        index_t e = 0;
        for (index_t c = 0; c < C; ++c)
          for (index_t i = 0; i < patch; ++i)
            for (index_t j = 0; j < patch; ++j) x[static_cast<std::size_t>(e++)] = img[static_cast<std::size_t>((c * H + r0 + i) * W + c0 + j)];
        for (index_t a = 0; a < P; ++a) {
          mean[static_cast<std::size_t>(a)] += x[static_cast<std::size_t>(a)];
          for (index_t b = 0; b <= a; ++b)
            cov[static_cast<std::size_t>(a * P + b)] += x[static_cast<std::size_t>(a)] * x[static_cast<std::size_t>(b)];
        }
        count += 1;
      }
  }
  for (auto& m : mean) m /= count;
  for (index_t a = 0; a < P; ++a)
    for (index_t b = 0; b <= a; ++b) {
      const double v = cov[static_cast<std::size_t>(a * P + b)] / count -
                       mean[static_cast<std::size_t>(a)] * mean[static_cast<std::size_t>(b)];
      cov[static_cast<std::size_t>(a * P + b)] = v;
      cov[static_cast<std::size_t>(b * P + a)] = v;
    }
}

/// Sets patch_embed.weight / .bias of `model` as the header describes.
template <class T, int D, int L>
void whiten_patch_embedding(VHMN<T, D, L>& model, const data::Dataset& ds, const data::Normalization& norm,
                            const WhiteningOptions& opt = {}) {
  VHMN_CHECK(opt.eps > 0 && std::isfinite(opt.eps), "whitening: eps must be > 0, got " << opt.eps);
  VHMN_CHECK(opt.gain > 0 && std::isfinite(opt.gain), "whitening: gain must be > 0, got " << opt.gain);
  const ModelConfig& c = model.config();
  VHMN_CHECK(ds.channels == c.channels && ds.height == c.image && ds.width == c.image,
             "whitening: data set '" << ds.name << "' does not fit the model's input");
  const index_t P = c.channels * c.patch * c.patch, Dm = c.dim;
  std::vector<double> mean, cov;
  patch_statistics(ds, norm, c.patch, opt.max_images, mean, cov);
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> sigma(cov.data(), P, P);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(sigma);
  VHMN_CHECK(eig.info() == Eigen::Success, "whitening: the patch covariance's eigen-decomposition failed");
  // Eigen sorts ascending; filters go largest variance first
  T* w = model.patch_embed.weight.data();
  T* bias = model.patch_embed.bias.data();
  const index_t rows = std::min(Dm, P);
  for (index_t r = 0; r < rows; ++r) {
    const index_t k = P - 1 - r;
    const double lambda = std::max(0.0, eig.eigenvalues()(k));
    const double scale = opt.gain / std::sqrt(lambda + opt.eps);
    double dot = 0;
    for (index_t e = 0; e < P; ++e) {
      const double f = scale * eig.eigenvectors()(e, k);
      w[r * P + e] = static_cast<T>(f);
      dot += f * mean[static_cast<std::size_t>(e)];
    }
    bias[r] = static_cast<T>(-dot);
  }
}

}  // namespace vhmn::train
