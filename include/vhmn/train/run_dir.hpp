// vhmn/train/run_dir.hpp — a training run directory's write protocol and
// its recovery after a kill, a full disk or Ctrl-C.
//
// What this represents: the files a Trainer keeps in its run directory and
// the order that keeps them consistent. The end of an epoch is
//   1. best.safetensors   (when the epoch improved the best accuracy)
//   2. last.safetensors   (it carries the epoch's metrics line, train.metrics)
//   3. one line appended to metrics.jsonl
// each checkpoint written atomically (io/atomic_file.hpp). A kill between
// any two of these leaves a state recover_run_dir() + reconcile_metrics()
// turn back into exactly the state after the last completed step:
//   - between 1 and 2: best holds a newer epoch than last; it is that
//     epoch's complete training checkpoint, so it becomes last.
//   - between 2 and 3 (or inside 3): metrics.jsonl lacks the checkpoint's
//     line (or ends in a torn one); the line is restored from the checkpoint.
//   - lines past the checkpoint's epoch (an older vhmn appended metrics
//     before saving) are dropped: those epochs are trained again.
// Leftover temporaries of killed writes are deleted by exact name.
// Everything here expects the directory's RunDirLock to be held.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "vhmn/core/error.hpp"
#include "vhmn/io/atomic_file.hpp"
#include "vhmn/io/json.hpp"
#include "vhmn/io/safetensors.hpp"

namespace vhmn::train {

inline const char* const kLastCheckpoint = "last.safetensors";
inline const char* const kBestCheckpoint = "best.safetensors";
inline const char* const kMetricsFile = "metrics.jsonl";

/// The files of a run directory that a trainer writes (and whose
/// temporaries it may delete).
inline std::vector<std::string> run_dir_files() { return {kLastCheckpoint, kBestCheckpoint, kMetricsFile}; }

/// `train.epoch` of a training checkpoint, or -1 when `path` does not exist.
/// A file that exists but cannot be read fails with the reader's Error.
inline long long checkpoint_epoch(const std::string& path, std::string* metrics_line = nullptr) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return -1;
  const io::SafetensorsFile f = io::read_safetensors(path);
  auto it = f.metadata.find("train.epoch");
  VHMN_CHECK(it != f.metadata.end(), path << ": not a training checkpoint (metadata 'train.epoch' missing)");
  if (metrics_line) {
    auto m = f.metadata.find("train.metrics");
    *metrics_line = m == f.metadata.end() ? std::string() : m->second;
  }
  return io::Json::parse(it->second, path + " train.epoch").as_int64();
}

/// What recover_run_dir() did, for the user.
struct RunDirRecovery {
  std::vector<std::string> removed_temporaries;
  bool promoted_best = false;  // best.safetensors was newer and became last.safetensors
  long long epoch = -1;        // last.safetensors' epoch afterwards; -1: no checkpoint
};

/// Step one of opening a run directory: delete stale temporaries, and when a
/// kill came between writing best and last, make best the last checkpoint.
inline RunDirRecovery recover_run_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  RunDirRecovery r;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return r;
  r.removed_temporaries = io::remove_stale_temporaries(dir, run_dir_files());
  const std::string last = (fs::path(dir) / kLastCheckpoint).string();
  const std::string best = (fs::path(dir) / kBestCheckpoint).string();
  r.epoch = checkpoint_epoch(last);
  long long best_epoch = -1;
#if VHMN_HAS_EXCEPTIONS
  try {
    best_epoch = checkpoint_epoch(best);
  } catch (const Error&) {
    best_epoch = -1;  // a best that is not a training checkpoint is never promoted
  }
#else
  best_epoch = checkpoint_epoch(best);  // without exceptions a foreign best reaches the error handler
#endif
  if (best_epoch > r.epoch) {
    std::ifstream in(best, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    VHMN_CHECK(in.good() || in.eof(), "cannot read " << best);
    io::write_file_atomic(last, bytes, "checkpoint");
    r.promoted_best = true;
    r.epoch = best_epoch;
  }
  return r;
}

/// The epoch a metrics.jsonl line is about, or -1 for a torn / foreign line.
inline long long metrics_line_epoch(const std::string& line) {
#if VHMN_HAS_EXCEPTIONS
  try {
    const io::Json j = io::Json::parse(line, "metrics line");
    if (!j.is_object() || !j.contains("epoch")) return -1;
    return j.at("epoch").as_int64();
  } catch (const Error&) {
    return -1;
  }
#else
  // Without exceptions a parse error cannot be caught: a line that is not
  // complete JSON (a torn last line ends without '}') counts as foreign.
  const auto end = line.find_last_not_of(" \t\r\n");
  if (line.empty() || line[0] != '{' || end == std::string::npos || line[end] != '}') return -1;
  const io::Json j = io::Json::parse(line, "metrics line");
  if (!j.is_object() || !j.contains("epoch") || !j.at("epoch").is_int64()) return -1;
  return j.at("epoch").as_int64();
#endif
}

/// Step two, once the checkpoint's epoch is known (0 and "" for a fresh
/// start): metrics.jsonl keeps one line per epoch 1..epoch, in order (the
/// latest line when an epoch appears twice), gains `checkpoint_line` when the
/// line of `epoch` itself is missing, and loses torn lines and lines past
/// `epoch`. It is rewritten atomically, and only when that changes it.
/// Returns the number of lines dropped.
inline std::size_t reconcile_metrics(const std::string& dir, long long epoch, const std::string& checkpoint_line) {
  const std::string path = (std::filesystem::path(dir) / kMetricsFile).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && (epoch <= 0 || checkpoint_line.empty())) return 0;
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  std::map<long long, std::string> by_epoch;
  std::size_t dropped = 0;
  for (const std::string& l : lines) {
    const long long e = metrics_line_epoch(l);
    if (e < 1 || e > epoch) {
      ++dropped;
      continue;
    }
    if (by_epoch.count(e)) ++dropped;
    by_epoch[e] = l;
  }
  if (epoch > 0 && !by_epoch.count(epoch) && metrics_line_epoch(checkpoint_line) == epoch)
    by_epoch[epoch] = checkpoint_line;
  std::string text, old;
  for (const auto& [e, l] : by_epoch) text += l + "\n";
  for (const std::string& l : lines) old += l + "\n";
  if (text != old || !std::filesystem::exists(path, ec)) io::write_file_atomic(path, text, "metrics file");
  return dropped;
}

}  // namespace vhmn::train
