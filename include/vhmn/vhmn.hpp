// vhmn/vhmn.hpp — the umbrella header of the Vision Hopfield Memory Network
// library. Users include this one file; the pieces below are implementation
// layout and may move.
//
// This is the inference set (model, checkpoints, explanation, Classifier):
// no data readers, no trainer, no image codec. vhmn/training.hpp adds
// training, vhmn/image_io.hpp image files and PNG output.
//
// single_include/vhmn/vhmn.hpp is generated from this file and
// vhmn/training.hpp, single_include/vhmn/vhmn_image.hpp from
// vhmn/image_io.hpp (run: cmake -DROOT=. -P tools/amalgamate.cmake). Keep
// these plain lists of `#include "vhmn/..."` lines, in dependency order.
#pragma once

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/checked.hpp"
#include "vhmn/core/file.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/core/threads.hpp"
#include "vhmn/core/rng.hpp"
#include "vhmn/core/extent.hpp"
#include "vhmn/core/eigen.hpp"
#include "vhmn/core/simd.hpp"
#include "vhmn/core/bf16.hpp"
#include "vhmn/core/cpu_features.hpp"
#include "vhmn/core/profile.hpp"
#include "vhmn/core/workspace.hpp"
#include "vhmn/core/precision.hpp"

#include "vhmn/ops/eigen_maps.hpp"
#include "vhmn/ops/gemm.hpp"
#include "vhmn/ops/gemm_bf16.hpp"
#include "vhmn/ops/gemm_precision.hpp"
#include "vhmn/ops/linear.hpp"
#include "vhmn/ops/layernorm.hpp"
#include "vhmn/ops/gelu.hpp"
#include "vhmn/ops/softmax.hpp"
#include "vhmn/ops/unfold.hpp"
#include "vhmn/ops/patchify.hpp"
#include "vhmn/ops/tokens.hpp"
#include "vhmn/ops/retrieval.hpp"
#include "vhmn/ops/attention_pool.hpp"
#include "vhmn/ops/cross_entropy.hpp"

#include "vhmn/nn/param.hpp"
#include "vhmn/nn/memory_bank.hpp"
#include "vhmn/nn/refinement.hpp"
#include "vhmn/nn/linear.hpp"
#include "vhmn/nn/layer_norm.hpp"
#include "vhmn/nn/mlp.hpp"
#include "vhmn/nn/patch_embed.hpp"
#include "vhmn/nn/attention_pool.hpp"
#include "vhmn/nn/memory_path.hpp"
#include "vhmn/nn/local_memory.hpp"
#include "vhmn/nn/global_memory.hpp"
#include "vhmn/nn/hmn_block.hpp"
#include "vhmn/nn/model_config.hpp"
#include "vhmn/nn/vhmn_model.hpp"

#include "vhmn/io/json.hpp"
#include "vhmn/io/safetensors.hpp"
#include "vhmn/io/checkpoint.hpp"
#include "vhmn/io/forward_input.hpp"

#include "vhmn/explain/retrieval.hpp"
#include "vhmn/explain/hit_rates.hpp"
#include "vhmn/explain/slot_profile.hpp"
#include "vhmn/explain/stability.hpp"
#include "vhmn/explain/corruptions.hpp"
#include "vhmn/explain/font.hpp"
#include "vhmn/explain/text_layout.hpp"
#include "vhmn/explain/canvas.hpp"
#include "vhmn/explain/svg_plot.hpp"

#include "vhmn/data/dataset.hpp"
#include "vhmn/data/normalize.hpp"
#include "vhmn/data/resize.hpp"
#include "vhmn/io/normalization_metadata.hpp"
#include "vhmn/infer/classifier.hpp"
