// vhmn/image_io.hpp — umbrella of the parts that need an image codec:
// decoding PNG / JPEG / BMP (libpng / libjpeg with VHMN_USE_SYSTEM_CODECS,
// else stb_image), image-folder data sets, classify_file(), and PNG output
// of explanation canvases (stb_image_write).
// Requires: stb_image.h and stb_image_write.h on the include path (Debian:
// libstb-dev, -I/usr/include/stb).
// single_include/vhmn/vhmn_image.hpp is this file generated on top of
// single_include/vhmn/vhmn.hpp.
#pragma once

#include "vhmn/training.hpp"

#include "vhmn/data/stb.hpp"
#include "vhmn/data/gzip.hpp"
#include "vhmn/data/image_decode.hpp"
#include "vhmn/data/image_folder.hpp"
#include "vhmn/infer/image_file.hpp"
#include "vhmn/explain/png.hpp"
