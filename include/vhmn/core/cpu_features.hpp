// vhmn/core/cpu_features.hpp — what the CPU running this binary can execute.
//
// Why: the bf16 kernels are compiled for AVX512-BF16 even in a build that
// does not target it (function-level target attributes), so before calling
// them we ask the CPU (cpuid) and the OS (xgetbv: the ZMM and opmask state
// is saved on context switches). Other architectures and compilers: false.
#pragma once

#include <cstdint>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define VHMN_X86_CPUID 1
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#define VHMN_X86_CPUID 2
#else
#define VHMN_X86_CPUID 0
#endif

namespace vhmn {

namespace detail {
struct CpuidRegs {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};
inline CpuidRegs cpuid(std::uint32_t leaf, std::uint32_t sub) {
  CpuidRegs r;
#if VHMN_X86_CPUID == 1
  unsigned a, b, c, d;
  if (static_cast<std::uint32_t>(__get_cpuid_max(0, nullptr)) < leaf) return r;
  __cpuid_count(leaf, sub, a, b, c, d);
  r = {a, b, c, d};
#elif VHMN_X86_CPUID == 2
  int v[4];
  __cpuid(v, 0);
  if (static_cast<std::uint32_t>(v[0]) < leaf) return r;
  __cpuidex(v, static_cast<int>(leaf), static_cast<int>(sub));
  r = {static_cast<std::uint32_t>(v[0]), static_cast<std::uint32_t>(v[1]), static_cast<std::uint32_t>(v[2]),
       static_cast<std::uint32_t>(v[3])};
#else
  (void)leaf;
  (void)sub;
#endif
  return r;
}
/// XCR0: which register states the OS saves (needs OSXSAVE).
inline std::uint64_t xcr0() {
#if VHMN_X86_CPUID == 1
  std::uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
#elif VHMN_X86_CPUID == 2
  return _xgetbv(0);
#else
  return 0;
#endif
}
inline bool detect_avx512_bf16() {
#if VHMN_X86_CPUID
  const CpuidRegs l1 = cpuid(1, 0);
  if (!(l1.ecx & (1u << 27))) return false;  // OSXSAVE: xgetbv is usable
  // XMM, YMM, opmask, ZMM0-15 upper halves, ZMM16-31 (bits 1, 2, 5, 6, 7)
  if ((xcr0() & 0xe6u) != 0xe6u) return false;
  const CpuidRegs l7 = cpuid(7, 0);
  const bool f = l7.ebx & (1u << 16), bw = l7.ebx & (1u << 30), vl = l7.ebx & (1u << 31);
  if (!(f && bw && vl) || l7.eax < 1) return false;
  return (cpuid(7, 1).eax & (1u << 5)) != 0;  // AVX512_BF16
#else
  return false;
#endif
}
}  // namespace detail

/// True when this CPU and OS can run AVX512-BF16 (with F, BW, VL) code.
inline bool cpu_has_avx512_bf16() {
  static const bool has = detail::detect_avx512_bf16();
  return has;
}

}  // namespace vhmn
