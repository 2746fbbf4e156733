// Built with -fno-exceptions: the library still compiles, and a bad input
// reaches the installed error handler with a message naming the problem.
#include <cstdio>
#include <cstdlib>

#include <vhmn/vhmn.hpp>

namespace {
[[noreturn]] void report(const char* message) {
  std::printf("handled: %s\n", message);
  std::fflush(stdout);
  std::exit(0);  // the test passes only if this message names the problem
}
}  // namespace

int main() {
  vhmn::set_error_handler(&report);
  vhmn::ModelConfig config = vhmn::ModelConfig::preset("fmnist-small");
  vhmn::VHMN<float> model(config, 1);  // a valid model builds and runs
  std::vector<float> image(28 * 28, 0.f);
  model.forward(image.data(), 1);
  config.window = 4;  // then an invalid one is rejected
  vhmn::VHMN<float> bad(config, 1);
  std::printf("no error was reported\n");
  return 1;
}
