// Fuzzes the CIFAR-10 / CIFAR-100 binary batch reader and the class-name
// list. Invariants: accepted records are all appended, labels in range; a
// rejected file leaves the data set as it was.
#include "fuzz_common.hpp"
#include "vhmn/data/cifar.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhmn;
  const vhmn_fuzz::Bytes bytes(data, data + size);
  for (const data::CifarFormat fmt : {data::CifarFormat{1, 0, 10, "CIFAR-10"}, data::CifarFormat{2, 1, 100, "CIFAR-100"}}) {
    data::Dataset ds;
    ds.channels = 3;
    ds.height = ds.width = 32;
    bool ok = false;
    vhmn_fuzz::tolerate_errors([&] {
      data::append_cifar_bytes(bytes, "fuzz.bin", fmt, ds);
      ok = true;
    });
    if (!ok) {
      vhmn_fuzz::expect(ds.size == 0 && ds.pixels.empty() && ds.labels.empty(), "a rejected file changed the data set");
      continue;
    }
    const std::size_t record = static_cast<std::size_t>(fmt.label_bytes) + 3072;
    vhmn_fuzz::expect(static_cast<std::size_t>(ds.size) * record == size, "not every record was appended");
    vhmn_fuzz::expect(ds.pixels.size() == static_cast<std::size_t>(ds.size) * 3072, "pixel count is wrong");
    for (std::int32_t y : ds.labels) vhmn_fuzz::expect(y >= 0 && y < fmt.classes, "label out of range");
  }
  const std::vector<std::string> names = data::detail::parse_name_list(bytes);
  for (const std::string& n : names) vhmn_fuzz::expect(!n.empty() && n.find('\n') == std::string::npos, "bad name");
  return 0;
}
