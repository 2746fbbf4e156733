// The vhmn program as people use it (issue 13): option errors that name the
// option and value, repeated options, exit codes, every train option and the
// run directory checked before the data loads, train.args as the old writer
// wrote it, slot counts rounded to the class count, a finished run, default
// data folders, the status line that fits the terminal, and (with the built
// program) `vhmn help CMD`, `--version` and an 80-column tmux.
// cmd_train.cpp and cmd_eval.cpp are compiled into this test directly.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include "../tools/vhmn/cmd_eval.cpp"
#include "../tools/vhmn/cmd_train.cpp"
#include "test_capture.hpp"

namespace {

using namespace vhmn;
using vhmn_test_capture::CaptureStdout;
using vhmn_test_data::TempDir;

/// A fast `vhmn train` on a folder: the cifar-small preset at width 8, one block, one epoch.
std::vector<std::string> tiny_train(const std::string& data, const std::string& out) {
  return {"--data", "folder", "--data-dir", data,  "--out", out,       "--patch", "4", "--dim",    "8",
          "--latent", "8",    "--depth",    "1",   "--epochs", "1",    "--batch", "4", "--threads", "1"};
}

/// `a` with --name's value replaced (or the option added): each option is given once.
std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& option) {
  for (std::size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == option[0]) {
      a[i + 1] = option[1];
      return a;
    }
  a.insert(a.end(), option.begin(), option.end());
  return a;
}

}  // namespace

TEST_CASE("vhmn options: repeated, unknown and out-of-range options name the option and the value") {
  using cli::Args;
  const std::set<std::string> opts = {"batch", "warmup", "out"};
  CHECK_THROWS_WITH_AS(Args({"--batch", "1", "--batch=2"}, {"json"}, opts),
                       "option --batch is given 2 times (--batch 1, --batch 2); give it once", cli::UsageError);
  CHECK_THROWS_WITH_AS(Args({"--json", "--json"}, {"json"}, opts), "option --json is given 2 times; give it once",
                       cli::UsageError);
  CHECK_THROWS_WITH_AS(Args({"--bach", "1"}, {"json"}, opts), "unknown option --bach", cli::UsageError);
  CHECK_THROWS_WITH_AS(Args({"--json=1"}, {"json"}, opts), "option --json takes no value", cli::UsageError);
  CHECK_THROWS_WITH_AS(Args({"--out"}, {"json"}, opts), "option --out needs a value", cli::UsageError);
  const Args a({"--batch", "0", "--warmup", "-1", "--", "--not-an-option"}, {"json"}, opts);
  CHECK(a.positional() == std::vector<std::string>{"--not-an-option"});
  CHECK_THROWS_WITH_AS(a.integer("batch", 128, 1, 65536), "--batch 0: must be between 1 and 65536", cli::UsageError);
  CHECK_THROWS_WITH_AS(a.number("warmup", 1.0, 0.0, cli::kNoMaxD), "--warmup -1: must be >= 0", cli::UsageError);
  CHECK_THROWS_WITH_AS(Args({"--batch", "x"}, {}, opts).integer("batch", 1, 1, 9),
                       "option --batch expects an integer, got 'x'", cli::UsageError);
}

TEST_CASE("vhmn train: bad options are refused by name, and before any data is read") {
  TempDir dir("cli_train_opts");
  const std::string missing = dir / "no-such-data";  // reading it would fail: the option check must come first
  vhmn_test_capture::write_image_folder(dir / "data", {"cat", "dog", "eel"}, 4);
  const std::string data = dir / "data";
  CHECK_THROWS_WITH_AS(cli::cmd_train(with(tiny_train(data, dir / "r1"), {"--batch", "0"})),
                       "--batch 0: must be between 1 and 65536", cli::UsageError);
  CHECK_THROWS_WITH_AS(cli::cmd_train(with(tiny_train(data, dir / "r1"), {"--warmup", "-1"})),
                       "--warmup -1: must be >= 0", cli::UsageError);
  std::vector<std::string> twice = tiny_train(data, dir / "r1");
  twice.insert(twice.end(), {"--batch", "8"});
  CHECK_THROWS_WITH_AS(cli::cmd_train(twice), "option --batch is given 2 times (--batch 4, --batch 8); give it once",
                       cli::UsageError);
  // --epochs 0 used to print "done: checkpoint ..." and write nothing
  CHECK_THROWS_WITH_AS(cli::cmd_train(with(tiny_train(data, dir / "r0"), {"--epochs", "0"})),
                       "--epochs 0: must be between 1 and 1000000", cli::UsageError);

  // --out that is a file: a clear message, not a raw filesystem error
  vhmn_test_data::write_text(dir / "a-file", "x");
  CHECK_THROWS_WITH_AS(cli::cmd_train(tiny_train(missing, dir / "a-file")),
                       doctest::Contains(("--out " + dir / "a-file" + ": is a file, not a directory").c_str()), Error);
  // a directory holding a run is refused before the (missing) data is looked at
  vhmn_test_data::write_text(dir / "old/last.safetensors", "x");
  CHECK_THROWS_WITH_AS(cli::cmd_train(tiny_train(missing, dir / "old")),
                       doctest::Contains(("--out " + dir / "old" + " already holds a run (last.safetensors)").c_str()), Error);
  // explicitly given slot counts that K = 3 classes do not divide: the option is named
  CHECK_THROWS_WITH_AS(cli::cmd_train(with(tiny_train(data, dir / "r2"), {"--local-slots", "500"})),
                       "--local-slots 500: must be a multiple of the 3 classes of data (e.g. 501)", cli::UsageError);
  // sizes the data does not allow are still refused by the config's own check
  CHECK_THROWS_WITH_AS(cli::cmd_train(with(tiny_train(data, dir / "r3"), {"--patch", "3"})),
                       doctest::Contains("image 32 is not a multiple of patch 3"), Error);
}

TEST_CASE("vhmn train: every option is checked before the run directory or the data is touched") {
  // --data-dir names a folder that does not exist: each bad option must be reported by itself, naming the
  // option and its value, not as the missing data (which the old code read first for most of these).
  TempDir dir("cli_train_early");
  const std::string missing = dir / "no-such-data";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--batch", "0"}, "--batch 0: must be between 1 and 65536"},
      {{"--batch", "4x"}, "option --batch expects an integer, got '4x'"},
      {{"--warmup", "-1"}, "--warmup -1: must be >= 0"},
      {{"--lr", "-1"}, "--lr -1: must be > 0"},
      {{"--lr", "0"}, "--lr 0: must be > 0"},
      {{"--lr", "fast"}, "option --lr expects a number, got 'fast'"},
      {{"--min-lr", "-1"}, "--min-lr -1: must be >= 0"},
      {{"--label-smoothing", "2"}, "--label-smoothing 2: must be between 0 and 0.999"},
      {{"--ema", "1.5"}, "--ema 1.5: must be in [0, 1) (0: off)"},
      {{"--tta", "sideways"}, "--tta sideways: must be one of flip, none"},
      {{"--init", "zeros"}, "--init zeros: must be one of whiten, random"},
      {{"--schedule", "step"}, "--schedule step: must be one of cosine, linear"},
      {{"--optimizer", "lion"}, "--optimizer lion: must be one of adamw, adam, sgd"},
      {{"--augment", "crop,blur"},
       "--augment crop,blur: unknown item 'blur' (known: crop, flip, autoaugment, randaugment, erasing, mixup, "
       "cutmix; or paper, none)"},
      {{"--momentum", "1"}, "--momentum 1: must be in [0, 1)"},
      {{"--weight-decay", "-0.1"}, "--weight-decay -0.1: must be >= 0"},
      {{"--clip", "-1"}, "--clip -1: must be >= 0"},
      {{"--time-limit", "-5"}, "--time-limit -5: must be >= 0"},
      {{"--epochs", "0"}, "--epochs 0: must be between 1 and 1000000"},
      {{"--stop-after", "-1"}, "--stop-after -1: must be >= 0"},
      {{"--workers", "0"}, "--workers 0: must be between 1 and 256"},
      {{"--seed", "-1"}, "--seed -1: must be >= 0"},
      {{"--fraction", "0"}, "--fraction 0: must be in (0, 1]"},
      {{"--fraction", "1.5"}, "--fraction 1.5: must be in (0, 1]"},
      {{"--imbalance", "0.5"}, "--imbalance 0.5: must be >= 1"},
      {{"--train-limit", "-5"}, "--train-limit -5: must be >= 0"},
      {{"--test-limit", "-1"}, "--test-limit -1: must be >= 0"},
      {{"--patch", "0"}, "--patch 0: must be >= 1"},
      {{"--iters", "-1"}, "--iters -1: must be >= 0"},
      {{"--config", "huge"}, "--config huge: must be one of paper-cifar, cifar-small, cifar-fast, fmnist-small"},
      {{"--precision", "fp16"}, "--precision must be fp32, bf16 or auto, got 'fp16'"},
      {{"--threads", "0"}, "--threads 0: must be between 1 and 4096"},
      {{"--data", "imagenet"}, "unknown --data 'imagenet' (known: fashion-mnist, mnist, cifar10, cifar100, folder)"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string option = cases[i].first[0] + " " + cases[i].first[1];
    const std::string run = dir / ("run" + std::to_string(i));
    CAPTURE(option);
    CHECK_THROWS_WITH_AS(cli::cmd_train(with(tiny_train(missing, run), cases[i].first)), cases[i].second.c_str(),
                         cli::UsageError);
    CHECK_FALSE(std::filesystem::exists(run));  // a run that cannot start leaves no directory behind
  }
  // with every option good, the missing data is what is reported
  CHECK_THROWS_WITH_AS(cli::cmd_train(tiny_train(missing, dir / "good")),
                       doctest::Contains(("image folder '" + missing + "' does not exist").c_str()), Error);
}

TEST_CASE("vhmn train: train.args is the JSON io::Json wrote, and a checkpoint with the old writer's text resumes") {
  TempDir dir("cli_train_args");
  // a folder name with a quote, a backslash and non-ASCII text, so that the escapes matter
  const std::string data = dir / "data \"q\" \\ \xc3\xa9t\xc3\xa9";
  vhmn_test_capture::write_image_folder(data, {"cat", "dog", "eel"}, 4);
  const std::string run = dir / "run";
  const std::vector<std::string> argv = with(tiny_train(data, run), {"--epochs", "2"});
  // the old writer: io::Json (still the library's JSON) over the same arguments
  io::Json old_json = io::Json::array();
  for (const std::string& a : argv) old_json.push_back(a);
  const std::string old_text = old_json.dump();
  CHECK(cli::command_line_json(argv) == old_text);
  CHECK(cli::command_line_from_json(old_text, "x") == argv);
  // text as the old writer wrote it, checked in: raw UTF-8, \" and \\ escapes, no spaces
  CHECK(cli::command_line_from_json("[\"--data\",\"folder\",\"--data-dir\",\"d \\\"q\\\" \\\\ \xc3\xa9\"]", "x") ==
        std::vector<std::string>{"--data", "folder", "--data-dir", "d \"q\" \\ \xc3\xa9"});
  CHECK_THROWS_WITH_AS(cli::command_line_from_json("[\"--data\",1]", "ck.safetensors"),
                       "ck.safetensors: metadata 'train.args' must be a JSON array of strings; it holds a JSON number",
                       Error);
  CHECK_THROWS_WITH_AS(cli::command_line_from_json("{\"--data\":1}", "ck.safetensors"),
                       "ck.safetensors: metadata 'train.args' must be a JSON array of strings, not a JSON object", Error);
  CHECK_THROWS_WITH_AS(cli::command_line_from_json("[\"--data\",", "ck.safetensors"),
                       doctest::Contains("ck.safetensors: metadata 'train.args' is not valid JSON"), Error);

  {
    CaptureStdout out(dir / "train.txt");
    REQUIRE(cli::cmd_train(with(argv, {"--stop-after", "1"})) == 0);
  }
  // make the checkpoint one the old program wrote: its train.args is the io::Json text of the command line
  const std::string last = run + "/last.safetensors";
  io::SafetensorsFile file = io::read_safetensors(last);
  REQUIRE(file.metadata.at("train.epoch") == "1");
  file.metadata["train.args"] = old_text;
  io::write_safetensors(last, file);
  {
    CaptureStdout out(dir / "resume.txt");
    REQUIRE(cli::cmd_train({"--resume", run}) == 0);
    const std::string text = out.text();
    CHECK(text.find("resuming " + last + " at epoch 1 of 2") != std::string::npos);
  }
  const io::SafetensorsFile resumed = io::read_safetensors(last);
  CHECK(resumed.metadata.at("train.epoch") == "2");
  CHECK(resumed.metadata.at("train.args") == old_text);  // kept for the next resume
}

TEST_CASE("vhmn train on 3 classes: slots rounded with a note; a finished run says so; eval hides top-5 for K <= 5") {
  TempDir dir("cli_train_run");
  vhmn_test_capture::write_image_folder(dir / "clothes/train", {"cat", "dog", "eel"}, 4);
  vhmn_test_capture::write_image_folder(dir / "clothes/test", {"cat", "dog", "eel"}, 2);
  const std::string data = dir / "clothes", run = dir / "run";
  {
    CaptureStdout out(dir / "train.txt");
    REQUIRE(cli::cmd_train(tiny_train(data, run)) == 0);
    const std::string text = out.text();
    // the splits are named after the user's folder, not just "train" / "test"
    CHECK(text.find("note: clothes/train has 3 classes, so the preset's slot counts are rounded up to a multiple: "
                    "local-slots 500 -> 501, global-slots 200 -> 201") != std::string::npos);
    CHECK(text.find("vhmn train: clothes/train (12 train / 6 test images, 3 classes)") != std::string::npos);
  }
  const io::SafetensorsFile ckpt = io::read_safetensors(run + "/last.safetensors");
  CHECK(ckpt.metadata.at("vhmn.local_slots") == "501");
  CHECK(ckpt.metadata.at("vhmn.global_slots") == "201");
  {
    CaptureStdout out(dir / "resume.txt");
    REQUIRE(cli::cmd_train({"--resume", run}) == 0);
    const std::string text = out.text();
    CHECK(text.find("vhmn train: " + run + " is already complete (epoch 1 of 1); nothing to train") !=
          std::string::npos);
    CHECK(text.find("done: checkpoint") == std::string::npos);
  }
  {
    CaptureStdout out(dir / "eval.txt");
    REQUIRE(cli::cmd_eval({"--model", run + "/last.safetensors", "--data", "folder", "--data-dir", data, "--threads",
                           "1"}) == 0);
    const std::string text = out.text();
    CHECK(text.find("on clothes/test (6 images)") != std::string::npos);
    CHECK(text.find("top-1 ") != std::string::npos);
    CHECK(text.find("top-5") == std::string::npos);
  }
  CHECK_THROWS_WITH_AS(cli::cmd_eval({"--model", run + "/last.safetensors", "--data", "folder", "--data-dir", data,
                                      "--split", "both"}),
                       "--split both: must be one of test, train", cli::UsageError);
}

TEST_CASE("vhmn data folders: --data-dir, else $VHMN_DATA/NAME, then the standard places, each named when missing") {
  TempDir dir("cli_data_dirs");
  const char* old_data = std::getenv("VHMN_DATA");
  const char* old_legacy = std::getenv("VHMN_DATA_DIR");
  const char* old_xdg = std::getenv("XDG_DATA_HOME");
  const std::string keep_data = old_data ? old_data : "", keep_legacy = old_legacy ? old_legacy : "",
                    keep_xdg = old_xdg ? old_xdg : "";
  ::setenv("VHMN_DATA", (dir / "root").c_str(), 1);
  ::unsetenv("VHMN_DATA_DIR");
  ::setenv("XDG_DATA_HOME", (dir / "xdg").c_str(), 1);
  CHECK_THROWS_WITH_AS(cli::default_data_dir("cifar100"),
                       ("--data cifar100: no --data-dir given and none of the default folders exists (tried " +
                        dir / "root/cifar-100-binary" + ", " + dir / "xdg/vhmn/cifar-100-binary" +
                        ", /usr/share/datasets/cifar-100-binary); pass --data-dir DIR or set VHMN_DATA to the "
                        "folder holding cifar-100-binary")
                           .c_str(),
                       Error);
  std::filesystem::create_directories(dir / "xdg/vhmn/cifar-100-binary");
  CHECK(cli::default_data_dir("cifar100") == dir / "xdg/vhmn/cifar-100-binary");
  std::filesystem::create_directories(dir / "root/cifar-100-binary");
  CHECK(cli::default_data_dir("cifar100") == dir / "root/cifar-100-binary");
  CHECK_THROWS_WITH_AS(cli::default_data_dir("folder"), "--data folder needs --data-dir DIR", cli::UsageError);
  auto put_back = [](const char* name, const char* old, const std::string& value) {
    if (old) ::setenv(name, value.c_str(), 1);
    else ::unsetenv(name);
  };
  put_back("VHMN_DATA", old_data, keep_data);
  put_back("VHMN_DATA_DIR", old_legacy, keep_legacy);
  put_back("XDG_DATA_HOME", old_xdg, keep_xdg);
}

TEST_CASE("vhmn status line: never wider than the terminal minus one column; drops the least useful parts first") {
  const std::vector<cli::StatusField> fields = {{"loss 2.2955", 5}, {"acc 0.117", 2}, {"110 img/s", 1},
                                                {"ETA 0:12", 4},    {"run 3:40", 3}};
  const std::string wide = cli::compose_status_line("epoch 1/2", 0.5, "5/10", fields, 200);
  CHECK(wide == "epoch 1/2 [###############...............] 5/10 loss 2.2955 acc 0.117 110 img/s ETA 0:12 run 3:40");
  for (int columns : {80, 60, 40, 20, 5, 1}) {
    const std::string line = cli::compose_status_line("epoch 10/10", 0.99, "9999/10000", fields, columns);
    CAPTURE(columns);
    CAPTURE(line);
    CHECK(static_cast<int>(line.size()) <= std::max(columns - 1, 1));
    if (columns >= 40) CHECK(line.find("loss 2.2955") != std::string::npos);
  }
  // at 50 columns img/s, acc and the run's ETA go, the bar stays; at 40 the bar goes before ETA and loss
  CHECK(cli::compose_status_line("epoch 1/2", 0.25, "5/20", fields, 50) ==
        "epoch 1/2 [##.........] 5/20 loss 2.2955 ETA 0:12");
  CHECK(cli::compose_status_line("epoch 1/2", 0.25, "5/20", fields, 40) == "epoch 1/2 5/20 loss 2.2955 ETA 0:12");
}

#ifdef VHMN_CLI_PATH
namespace {

/// Runs a shell command; returns its exit status and what it printed (stdout and stderr).
int run_shell(const std::string& command, std::string& output) {
  output.clear();
  std::FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("vhmn program: help CMD, --version, and exit code 2 for every mistake in the command line") {
  const std::string vhmn = VHMN_CLI_PATH;
  std::string out, train_help;
  CHECK(run_shell(vhmn + " train --help", train_help) == 0);
  CHECK(train_help.rfind("usage: vhmn train", 0) == 0);
  CHECK(run_shell(vhmn + " help train", out) == 0);
  CHECK(out == train_help);
  CHECK(run_shell(vhmn + " --version", out) == 0);
  CHECK(out.rfind("vhmn 0.", 0) == 0);
  CHECK(run_shell(vhmn + " trian", out) == 2);
  CHECK(out == "vhmn: error: unknown command 'trian' (see vhmn --help)\n");
  CHECK(run_shell(vhmn + " help trian", out) == 2);
  CHECK(run_shell(vhmn + " eval --bogus", out) == 2);
  CHECK(out == "vhmn eval: error: unknown option --bogus (see vhmn help eval)\n");
  CHECK(run_shell(vhmn + " bench --batch 0", out) == 2);
  CHECK(out == "vhmn bench: error: --batch 0: must be between 1 and 65536 (see vhmn help bench)\n");
  CHECK(run_shell(vhmn + " predict --model /nonexistent.safetensors x.png", out) == 1);  // not a usage error
  // a bad train option is a usage error (2) even when the data is missing too: options are checked first
  TempDir dir("cli_program");
  CHECK(run_shell(vhmn + " train --data folder --data-dir '" + dir / "none" + "' --out '" + dir / "run" +
                      "' --ema 1.5",
                  out) == 2);
  CHECK(out == "vhmn train: error: --ema 1.5: must be in [0, 1) (0: off) (see vhmn help train)\n");
}

TEST_CASE("vhmn train in an 80-column terminal (tmux): the live line is redrawn in place, never wrapped") {
  std::string out;
  if (run_shell("command -v tmux", out) != 0) {
    MESSAGE("skipped: tmux is not installed (Debian: apt-get install tmux)");
    return;
  }
  TempDir dir("cli_tmux");
  vhmn_test_capture::write_image_folder(dir / "data", {"cat", "dog", "eel"}, 16);
  std::string cmd = std::string(VHMN_CLI_PATH) + " train";
  for (const std::string& a : with(tiny_train(dir / "data", dir / "run"), {"--epochs", "2"})) cmd += " '" + a + "'";
  cmd += "; echo exit=\\$?; sleep 30";
  const std::string session = "vhmn_test_" + std::to_string(::getpid());
  REQUIRE(run_shell("tmux -L " + session + " new-session -d -s main -x 80 -y 40 \"" + cmd + "\"", out) == 0);
  std::string pane;
  for (int i = 0; i < 600 && pane.find("exit=") == std::string::npos; ++i) {
    ::usleep(100000);
    run_shell("tmux -L " + session + " capture-pane -p -t main", pane);
  }
  run_shell("tmux -L " + session + " kill-server", out);
  CAPTURE(pane);
  REQUIRE(pane.find("exit=0") != std::string::npos);
  // every step used to leave a wrapped line behind ("... ETA 0:" / "00"); now
  // only the two epoch summaries remain, and no line reaches column 80
  std::istringstream lines(pane);
  int epoch_lines = 0, eta_lines = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("epoch ", 0) == 0 || line.find("img/s") != std::string::npos) CHECK(line.size() < 80);
    epoch_lines += line.rfind("epoch ", 0) == 0;
    eta_lines += line.find("ETA") != std::string::npos;
  }
  CHECK(epoch_lines == 2);
  CHECK(eta_lines == 0);
}
#endif

TEST_CASE("vhmn train --time-limit: the run's ETA never goes past what is left of the budget") {
  // The run ETA used to be epochs left x epoch length, so a 60-minute run with
  // --epochs 40 showed "run 1:09:36" in its first minutes and "run 15:30" at 59:40.
  TempDir dir("cli_time_limit_eta");
  vhmn_test_capture::write_image_folder(dir / "data", {"cat", "dog", "eel"}, 16);
  CaptureStdout out(dir / "train.txt");
  REQUIRE(cli::cmd_train(with(with(tiny_train(dir / "data", dir / "run"), {"--epochs", "100000"}),
                              {"--time-limit", "0.05"})) == 0);  // 3 s
  const std::string text = out.text();
  CAPTURE(text);
  int etas = 0;
  for (std::size_t at = text.find("(run "); at != std::string::npos; at = text.find("(run ", at + 1)) {
    // H:MM:SS or M:SS
    const std::string d = text.substr(at + 5, text.find(')', at) - at - 5);
    long seconds = 0;
    std::istringstream parts(d);
    for (std::string part; std::getline(parts, part, ':');) seconds = seconds * 60 + std::stol(part);
    CHECK(seconds <= 3);
    ++etas;
  }
  CHECK(etas > 0);
}

TEST_CASE("vhmn train --data cifar10 defaults to the one-hour recipe; other data sets keep theirs; options win") {
  using cli::Args;
  auto settings = [](std::vector<std::string> argv) {
    return cli::read_train_settings(Args(std::move(argv), {"help"}, cli::kTrainOptions));
  };
  const bool native = ops::bf16_backend() == ops::Bf16Backend::Native;

  const cli::TrainSettings c = settings({"--data", "cifar10"});
  CHECK(c.config.local_slots == 100);  // cifar-fast
  CHECK(c.config.dim == 128);
  CHECK(c.config.global_slots == 200);
  CHECK(c.loader.batch_size == 64);
  CHECK(c.opt.epochs == 40);
  CHECK(c.opt.lr == doctest::Approx(2e-3));
  CHECK(c.opt.warmup_epochs == doctest::Approx(1.0));
  CHECK(c.loader.augment.label_smoothing == doctest::Approx(0.1));
  CHECK(c.loader.augment.crop > 0);
  CHECK(c.loader.augment.flip > 0);
  CHECK(c.opt.tta_flip);
  CHECK(c.opt.whiten_patch_embed);
  CHECK(c.opt.precision == (native ? Precision::BF16 : Precision::FP32));  // --precision auto
  const std::string line = cli::recipe_line(c);
  CHECK(line.find("recipe: 40 epochs, batch 64, adamw lr 0.002 (warm-up 1 epochs, cosine decay)") == 0);
  CHECK(line.find("label smoothing 0.1, augment crop,flip, init whiten, tta flip, precision ") != std::string::npos);
  CHECK(cli::recipe_line(settings({"--data", "cifar10", "--time-limit", "60"})).find("40 epochs or 60 minutes") !=
        std::string::npos);

  const cli::TrainSettings f = settings({"--data", "fashion-mnist"});
  CHECK(f.config.dim == 96);  // fmnist-small
  CHECK(f.config.local_slots == 500);
  CHECK(f.loader.batch_size == 128);
  CHECK(f.opt.epochs == 9);
  CHECK(f.loader.augment.label_smoothing == 0.0);
  CHECK(f.loader.augment.crop == 0.0);
  CHECK_FALSE(f.opt.tta_flip);
  CHECK_FALSE(f.opt.whiten_patch_embed);
  CHECK(f.opt.precision == Precision::FP32);

  const cli::TrainSettings c100 = settings({"--data", "cifar100"});
  CHECK(c100.config.local_slots == 500);  // cifar-small
  CHECK(c100.loader.batch_size == 128);
  CHECK(c100.opt.epochs == 10);
  CHECK(c100.opt.precision == Precision::FP32);

  const cli::TrainSettings o = settings({"--data", "cifar10", "--config", "cifar-small", "--batch", "128", "--tta",
                                         "none", "--init", "random", "--label-smoothing", "0", "--precision", "fp32",
                                         "--epochs", "3"});
  CHECK(o.config.local_slots == 500);
  CHECK(o.loader.batch_size == 128);
  CHECK_FALSE(o.opt.tta_flip);
  CHECK_FALSE(o.opt.whiten_patch_embed);
  CHECK(o.loader.augment.label_smoothing == 0.0);
  CHECK(o.opt.precision == Precision::FP32);
  CHECK(o.opt.epochs == 3);
}
