// Fuzzes io::Json::parse (checkpoint headers, metadata values, metrics.jsonl).
// Invariant: whatever parses dumps to text that parses back to the same dump.
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "vhmn/io/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vhmn_fuzz::tolerate_errors([&] {
    const vhmn::io::Json j = vhmn::io::Json::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    const std::string once = j.dump();
    const std::string twice = vhmn::io::Json::parse(once, "fuzz re-parse").dump();
    vhmn_fuzz::expect(once == twice, "Json dump -> parse -> dump is not a fixed point");
  });
  return 0;
}
