// What the CPU can do, detected once at start-up, and the kernel level trit runs at: the best the CPU
// supports, or a lower one forced with TRIT_ISA=scalar|avx2|avxvnni|avx512|neon (for testing and comparisons).
#pragma once

#include <string>

namespace trit::runtime {

enum class IsaLevel {
  kScalar,   // plain C++: the reference
  kAvx2,     // x86-64 AVX2 + FMA + F16C
  kAvx512,   // x86-64 AVX-512 F/BW/VL + VNNI
  kNeon,     // AArch64 Advanced SIMD + dot product (SDOT)
  kAvxVnni,  // x86-64 AVX2 + FMA + F16C + AVX-VNNI (256-bit vpdpbusd); appended so that
             // the values above stay (benchmarks pass levels as ints)
};

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, avxvnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512vbmi = false;
  bool asimd = false, dotprod = false, fp16 = false, i8mm = false;  // AArch64 (fp16: half-precision arithmetic)
  int n_physical_cores = 1;
  int n_logical_cpus = 1;
};

const CpuFeatures& cpu_features();

// The best level the CPU supports.
IsaLevel best_isa();
// Whether the CPU can run the kernels of `level` (the levels are not ordered across architectures).
bool supports_isa(IsaLevel level);
// The level kernels use: best_isa(), lowered by TRIT_ISA when set. Throws trit::Error for an unknown
// name or a level the CPU lacks.
IsaLevel active_isa();
// Forces a level (tests, `--isa`); throws trit::Error when the CPU lacks it.
void set_active_isa(IsaLevel level);
IsaLevel parse_isa(const std::string& name);
const char* isa_name(IsaLevel level);  // "scalar", "avx2", "avxvnni", "avx512", "neon"
// "avx512 kernels (CPU: AVX-512 VNNI, AVX-VNNI, AVX2; 2 cores, 4 threads)": for --version and trit bench.
std::string describe_cpu();

}  // namespace trit::runtime
