// tests/alloc/no_alloc.cpp — a training step and an inference batch allocate
// nothing on the heap once warm (its own executable, vhmn_alloc_test,
// because it replaces the global allocation functions), in fp32 and in bf16
// mode (both bf16 backends where the CPU has the native one), and a step
// composed through the autodiff tape, with and without a frozen backbone,
// and a step with the grad-ready hook set (data-parallel overlap). The steps
// are the bench protocol's (train/bench_protocol.hpp) at batch 4.
//
// Counts every operator new / new[] (all overloads) and, on glibc, every
// malloc / calloc / realloc / memalign family call (Eigen allocates with
// malloc, not new) while a window is open; runs warm-up steps, then opens the
// window over further steps and fails if anything was allocated.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <vhmn/autodiff/layers.hpp>
#include <vhmn/train/bench_protocol.hpp>
#include <vhmn/vhmn.hpp>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long long> g_allocations{0};
inline void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

#if defined(__GLIBC__)
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) noexcept {
  count();
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) noexcept {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) noexcept {
  count();
  return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t align, std::size_t n) noexcept {
  count();
  return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  count();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  count();
  void* p = __libc_memalign(align, n);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}
#define VHMN_TEST_RAW_MALLOC(n) __libc_malloc(n)
#define VHMN_TEST_RAW_ALIGNED(a, n) __libc_memalign(a, n)
#define VHMN_TEST_RAW_FREE(p) __libc_free(p)
#else
#define VHMN_TEST_RAW_MALLOC(n) std::malloc(n)
#define VHMN_TEST_RAW_ALIGNED(a, n) std::aligned_alloc(a, ((n) + (a)-1) / (a) * (a))
#define VHMN_TEST_RAW_FREE(p) std::free(p)
#endif

void* operator new(std::size_t n) {
  count();
  if (void* p = VHMN_TEST_RAW_MALLOC(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  count();
  if (void* p = VHMN_TEST_RAW_MALLOC(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  count();
  return VHMN_TEST_RAW_MALLOC(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  count();
  return VHMN_TEST_RAW_MALLOC(n ? n : 1);
}
void* operator new(std::size_t n, std::align_val_t a) {
  count();
  if (void* p = VHMN_TEST_RAW_ALIGNED(static_cast<std::size_t>(a), n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  count();
  if (void* p = VHMN_TEST_RAW_ALIGNED(static_cast<std::size_t>(a), n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { VHMN_TEST_RAW_FREE(p); }
void operator delete[](void* p) noexcept { VHMN_TEST_RAW_FREE(p); }
void operator delete(void* p, std::size_t) noexcept { VHMN_TEST_RAW_FREE(p); }
void operator delete[](void* p, std::size_t) noexcept { VHMN_TEST_RAW_FREE(p); }
void operator delete(void* p, std::align_val_t) noexcept { VHMN_TEST_RAW_FREE(p); }
void operator delete[](void* p, std::align_val_t) noexcept { VHMN_TEST_RAW_FREE(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { VHMN_TEST_RAW_FREE(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { VHMN_TEST_RAW_FREE(p); }

int main() {
  using namespace vhmn;
  using T = float;
  // cifar-small's shapes (large enough for every tiled and threaded path)
  // at a small batch; every bank full.
  const ModelConfig config = ModelConfig::preset("cifar-small");
  train::BenchProtocol<T> bench(config, /*batch=*/4);
  bench.set_labels({0, 3, 7, 3});
  VHMN<T>& model = bench.model;
  auto train_step = [&] { bench.train_step(); };
  auto infer_step = [&](bool fast) { bench.infer_step(/*keep_caches=*/!fast); };

  // (precision, VHMN_BF16) runs: fp32; bf16 emulated; bf16 native if this CPU runs it
  struct Mode {
    Precision precision;
    bool emulate;
  };
  std::vector<Mode> modes = {{Precision::FP32, false}, {Precision::BF16, true}};
  unsetenv("VHMN_BF16");
  if (ops::bf16_backend() == ops::Bf16Backend::Native) modes.push_back({Precision::BF16, false});
  int failures = 0;
  for (const Mode& mode : modes) {
    if (mode.emulate)
      setenv("VHMN_BF16", "emulate", 1);
    else
      unsetenv("VHMN_BF16");
    model.set_precision(mode.precision);
    const std::string label =
        mode.precision == Precision::FP32 ? "fp32" : std::string("bf16 ") + ops::bf16_backend_name();
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      for (int i = 0; i < 3; ++i) {  // warm-up: workspaces reach their sizes
        train_step();
        infer_step(true);
        infer_step(false);
      }
      g_allocations = 0;
      g_counting = true;
      for (int i = 0; i < 3; ++i) train_step();
      g_counting = false;
      const long long train_allocs = g_allocations.exchange(0);
      g_counting = true;
      for (int i = 0; i < 3; ++i) {
        infer_step(true);
        infer_step(false);
      }
      g_counting = false;
      const long long infer_allocs = g_allocations.exchange(0);
      std::printf("%s, %d thread(s): %lld heap allocations in 3 warm training steps, %lld in 6 warm inference "
                  "batches\n",
                  label.c_str(), threads, train_allocs, infer_allocs);
      if (train_allocs != 0 || infer_allocs != 0) ++failures;
    }
  }
  // The same training step composed through the autodiff tape (backbone,
  // the head as a tape Linear, cross-entropy), and with the backbone frozen.
  model.set_precision(Precision::FP32);
  autodiff::Tape<T> tape;
  auto tape_step = [&] {
    model.train();
    model.zero_grad();
    tape.clear();
    const auto f = autodiff::backbone(tape, model, bench.images.data(), bench.batch);
    tape.backward(autodiff::cross_entropy(tape, autodiff::linear(tape, model.head, f.pooled), bench.targets.data()));
    bench.optimizer.step(bench.learning_rate);
    model.remember(bench.labels.data(), bench.ids.data());
  };
  for (bool frozen : {false, true}) {
    if (frozen) {
      model.freeze("*");
      model.unfreeze("head.*");
    }
    for (int i = 0; i < 3; ++i) tape_step(), train_step();
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 3; ++i) tape_step(), train_step();
    g_counting = false;
    const long long allocs = g_allocations.exchange(0);
    std::printf("tape%s: %lld heap allocations in 3 warm tape steps and 3 warm model steps\n",
                frozen ? ", frozen backbone" : "", allocs);
    if (allocs != 0) ++failures;
  }
  model.unfreeze("*");
  // With a grad-ready hook set (what data-parallel overlap installs): still none.
  std::int64_t groups = 0;
  model.set_grad_ready_hook([&groups](GradGroup) { ++groups; });
  for (int i = 0; i < 3; ++i) train_step();
  groups = 0;
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 3; ++i) train_step();
  g_counting = false;
  const long long hook_allocs = g_allocations.exchange(0);
  std::printf("grad-ready hook: %lld heap allocations in 3 warm training steps (%lld groups reported)\n", hook_allocs,
              static_cast<long long>(groups));
  if (hook_allocs != 0 || groups != 3 * (config.depth + 2)) ++failures;
  model.set_grad_ready_hook(nullptr);
  set_num_threads(0);
  unsetenv("VHMN_BF16");
  std::printf("%s\n", failures ? "FAIL: steady-state steps allocate" : "PASS: no steady-state allocation");
  return failures ? 1 : 0;
}
