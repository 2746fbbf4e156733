// vhmn/vhmn.hpp — the umbrella header of the Vision Hopfield Memory Network
// library. Users include this one file; the pieces below are implementation
// layout and may move.
//
// single_include/vhmn/vhmn.hpp is generated from this file and everything it
// includes (run: cmake -DROOT=. -P tools/amalgamate.cmake). Keep this a plain
// list of `#include "vhmn/..."` lines, in dependency order.
#pragma once

#include "vhmn/core/config.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/core/tensor.hpp"
#include "vhmn/core/threads.hpp"
#include "vhmn/core/rng.hpp"
