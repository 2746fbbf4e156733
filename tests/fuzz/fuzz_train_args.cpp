// Fuzzes what `vhmn train --resume` reads from a checkpoint's metadata
// "train.args": command_line_from_json (a JSON array of strings) and
// saved_command_line (that array read as a train command line, with and
// without the train.recipe_defaults mark). The text comes from a file the
// user may have been sent, so both must answer any bytes with a vhmn::Error
// naming the file.
// Invariants: a refused command line is an Error naming the checkpoint, never
// a UsageError (that would blame the user for options they never typed); an
// accepted array writes back (command_line_json) to text that reads back to
// the same array.
// cmd_train.cpp is compiled into this harness, as into tests/test_cli.cpp.
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "../../tools/vhmn/cmd_train.cpp"

namespace {

constexpr const char* kCheckpoint = "fuzz.safetensors";

void read_as_resume_does(const std::string& text, bool defaults_saved) {
  try {
    (void)vhmn::cli::saved_command_line(text, kCheckpoint, defaults_saved);
  } catch (const vhmn::cli::UsageError&) {
    vhmn_fuzz::expect(false, "saved_command_line let a UsageError out instead of an Error naming the checkpoint");
  } catch (const vhmn::Error& e) {
    vhmn_fuzz::expect(std::string(e.what()).find(kCheckpoint) != std::string::npos,
                      "saved_command_line's error does not name the checkpoint");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  vhmn_fuzz::tolerate_errors([&] {
    const std::vector<std::string> argv = vhmn::cli::command_line_from_json(text, kCheckpoint);
    const std::vector<std::string> again =
        vhmn::cli::command_line_from_json(vhmn::cli::command_line_json(argv), "fuzz re-read");
    vhmn_fuzz::expect(again == argv, "train.args written back does not read back to the same command line");
  });
  read_as_resume_does(text, true);
  read_as_resume_does(text, false);
  return 0;
}
