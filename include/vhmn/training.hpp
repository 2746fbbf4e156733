// vhmn/training.hpp — umbrella of everything training needs that has no
// image codec: data sets (CIFAR binary, IDX), subsets, augmentation, MixUp /
// CutMix, the threaded loader, optimisers, evaluation and the Trainer.
// single_include/vhmn/vhmn.hpp holds this and vhmn/vhmn.hpp in one file.
// IDX files may be gzipped only where stb_image.h is on the include path
// (vhmn/data/idx.hpp).
#pragma once

#include "vhmn/vhmn.hpp"

#include "vhmn/data/file.hpp"
#include "vhmn/data/cifar.hpp"
#include "vhmn/data/idx.hpp"
#include "vhmn/data/subset.hpp"
#include "vhmn/data/augment.hpp"
#include "vhmn/data/mix.hpp"
#include "vhmn/data/loader.hpp"

#include "vhmn/io/atomic_file.hpp"
#include "vhmn/io/run_lock.hpp"

#include "vhmn/train/optimizer.hpp"
#include "vhmn/train/evaluate.hpp"
#include "vhmn/train/run_dir.hpp"
#include "vhmn/train/trainer.hpp"
