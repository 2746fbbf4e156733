// tools/vhmn/commands.hpp — the subcommands of the `vhmn` program.
// Each lives in its own cmd_<name>.cpp and returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace vhmn::cli {

int cmd_forward(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_predict(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_explain(const std::vector<std::string>& args);
int cmd_robustness(const std::vector<std::string>& args);

}  // namespace vhmn::cli
