// Fuzzes the checkpoint path from bytes: io::parse_safetensors, conversion of
// every tensor, and load_model (config from __metadata__, checked against the
// tensors before the model is built). Invariant: a file that parses
// serializes and parses back to the same tensors and metadata.
#include "fuzz_common.hpp"
#include "vhmn/io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhmn;
  static const bool once = (set_num_threads(1), true);
  (void)once;
  vhmn_fuzz::tolerate_errors([&] {
    const io::SafetensorsFile f = io::parse_safetensors(data, size, "fuzz");
    const std::vector<std::uint8_t> bytes = io::serialize_safetensors(f);
    const io::SafetensorsFile g = io::parse_safetensors(bytes.data(), bytes.size(), "fuzz re-parse");
    vhmn_fuzz::expect(g.metadata == f.metadata && g.tensors.size() == f.tensors.size(), "round trip lost entries");
    for (std::size_t i = 0; i < f.tensors.size(); ++i)
      vhmn_fuzz::expect(g.tensors[i].name == f.tensors[i].name && g.tensors[i].dtype == f.tensors[i].dtype &&
                            g.tensors[i].shape == f.tensors[i].shape && g.tensors[i].bytes == f.tensors[i].bytes,
                        "round trip changed a tensor");
    for (const io::RawTensor& t : f.tensors) {
      vhmn_fuzz::tolerate_errors([&] { io::to_tensor<float>(t); });
      vhmn_fuzz::tolerate_errors([&] { io::to_tensor<std::int64_t>(t); });
    }
    auto model = load_model<float>(f, "fuzz");
    vhmn_fuzz::expect(model != nullptr, "load_model returned nothing");
  });
  return 0;
}
