// vhmn/data/cifar.hpp — CIFAR-10 and CIFAR-100, binary version.
//
// What this reads: the files of the official binary archives.
//   CIFAR-10  (cifar-10-batches-bin/): data_batch_1..5.bin (train, 50,000),
//             test_batch.bin (10,000); records of 1 label byte + 3072 pixel
//             bytes (1024 R, 1024 G, 1024 B, rows of 32); batches.meta.txt
//             names the classes, one per line.
//   CIFAR-100 (cifar-100-binary/): train.bin (50,000), test.bin (10,000);
//             records of 2 label bytes (coarse, fine) + 3072 pixel bytes; the
//             fine label is used; fine_label_names.txt names the classes.
// The pixel bytes are already planar [3, 32, 32], the Dataset layout, so a
// record is copied as is. source_index counts records across the files in
// the order above (train image 10,000 is record 0 of data_batch_2.bin).
// Ensures: a missing file, a size that is not a whole number of records, or
// a label outside the class range fails with the file's name. The name list
// is optional (when absent: the built-in CIFAR-10 names, or class_<i> for
// CIFAR-100) but, when present, must have one name per class.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "vhmn/core/checked.hpp"
#include "vhmn/core/error.hpp"
#include "vhmn/data/dataset.hpp"
#include "vhmn/data/file.hpp"

namespace vhmn {
namespace data {

namespace detail {

/// One name per non-empty line; '\r' and trailing blanks are dropped.
inline std::vector<std::string> parse_name_list(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::string> names;
  std::string line;
  auto flush = [&] {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) names.push_back(line);
    line.clear();
  };
  for (std::uint8_t b : bytes) {
    if (b == '\n') flush();
    else line.push_back(static_cast<char>(b));
  }
  flush();
  return names;
}
inline std::vector<std::string> read_name_list(const std::string& path) { return parse_name_list(read_file(path)); }

/// Class names from `path` when it exists (exactly `classes` of them), else
/// `fallback`, else class_0, class_1, ...
inline std::vector<std::string> class_names_or_default(const std::string& path, index_t classes,
                                                       std::vector<std::string> fallback = {}) {
  if (file_exists(path)) {
    std::vector<std::string> names = read_name_list(path);
    VHMN_CHECK(static_cast<index_t>(names.size()) == classes,
               "'" << path << "' names " << names.size() << " classes, expected " << classes);
    return names;
  }
  if (static_cast<index_t>(fallback.size()) == classes) return fallback;
  std::vector<std::string> names;
  for (index_t c = 0; c < classes; ++c) names.push_back("class_" + std::to_string(c));
  return names;
}

}  // namespace detail

/// Layout of one CIFAR binary record: `label_bytes` label bytes, of which
/// byte `label_pick` is the label, then 3 x 32 x 32 planar pixels.
struct CifarFormat {
  int label_bytes = 1;
  int label_pick = 0;
  index_t classes = 10;
  const char* what = "CIFAR-10";
};

/// Appends the records held in `bytes` (the content of the file `path`,
/// named in errors) to `ds` (which must be 3x32x32). source_index continues
/// from ds.size. Nothing is appended when a record is bad.
inline void append_cifar_bytes(const std::vector<std::uint8_t>& bytes, const std::string& path,
                               const CifarFormat& fmt, Dataset& ds) {
  constexpr std::size_t pixels_per_record = 3 * 32 * 32;
  const std::size_t record = static_cast<std::size_t>(fmt.label_bytes) + pixels_per_record;
  VHMN_CHECK(!bytes.empty(), fmt.what << ": '" << path << "' is empty");
  VHMN_CHECK(bytes.size() % record == 0,
             fmt.what << ": '" << path << "' has " << bytes.size() << " bytes, not a multiple of the record size "
                      << record << " (truncated record or not a " << fmt.what << " binary file)");
  const std::size_t count = bytes.size() / record;
  for (std::size_t r = 0; r < count; ++r) {  // labels first: a bad record leaves ds as it was
    const int label = bytes[r * record + static_cast<std::size_t>(fmt.label_pick)];
    VHMN_CHECK(label < fmt.classes, fmt.what << ": '" << path << "' record " << r << " has label " << label
                                             << ", outside [0, " << fmt.classes << ")");
  }
  const std::size_t first = static_cast<std::size_t>(ds.size);
  std::uint64_t total_pixels = 0;
  VHMN_CHECK(checked_mul(first + count, pixels_per_record, &total_pixels, SIZE_MAX),
             fmt.what << ": '" << path << "' brings the data set to " << first + count << " records, too many");
  ds.pixels.resize(static_cast<std::size_t>(total_pixels));
  ds.labels.resize(first + count);
  ds.source_index.resize(first + count);
  for (std::size_t r = 0; r < count; ++r) {
    const std::uint8_t* rec = bytes.data() + r * record;
    ds.labels[first + r] = rec[fmt.label_pick];
    ds.source_index[first + r] = static_cast<std::int64_t>(first + r);
    std::copy(rec + fmt.label_bytes, rec + record,
              ds.pixels.begin() + static_cast<std::ptrdiff_t>((first + r) * pixels_per_record));
  }
  ds.size = static_cast<index_t>(first + count);
}

/// Appends the records of one binary file to `ds` (see append_cifar_bytes).
inline void append_cifar_file(const std::string& path, const CifarFormat& fmt, Dataset& ds) {
  VHMN_CHECK(file_exists(path), fmt.what << ": file '" << path << "' is missing");
  append_cifar_bytes(read_file(path), path, fmt, ds);
}

/// CIFAR-10 from the directory of the binary version (cifar-10-batches-bin).
inline Dataset load_cifar10(const std::string& dir, Split split) {
  Dataset ds;
  ds.channels = 3;
  ds.height = ds.width = 32;
  ds.classes = 10;
  ds.name = std::string("cifar10-") + split_name(split);
  std::vector<std::string> files;
  if (split == Split::Train) {
    for (int b = 1; b <= 5; ++b) files.push_back(join_path(dir, "data_batch_" + std::to_string(b) + ".bin"));
  } else {
    files.push_back(join_path(dir, "test_batch.bin"));
  }
  ds.pixels.reserve(files.size() * 10000 * 3072);
  const CifarFormat fmt{1, 0, 10, "CIFAR-10"};
  for (const std::string& f : files) append_cifar_file(f, fmt, ds);
  ds.class_names = detail::class_names_or_default(
      join_path(dir, "batches.meta.txt"), ds.classes,
      {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"});
  return ds;
}

/// CIFAR-100 (fine labels) from the directory of the binary version (cifar-100-binary).
inline Dataset load_cifar100(const std::string& dir, Split split) {
  Dataset ds;
  ds.channels = 3;
  ds.height = ds.width = 32;
  ds.classes = 100;
  ds.name = std::string("cifar100-") + split_name(split);
  const CifarFormat fmt{2, 1, 100, "CIFAR-100"};
  append_cifar_file(join_path(dir, split == Split::Train ? "train.bin" : "test.bin"), fmt, ds);
  ds.class_names = detail::class_names_or_default(join_path(dir, "fine_label_names.txt"), ds.classes);
  return ds;
}

}  // namespace data
}  // namespace vhmn
