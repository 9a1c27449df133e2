// CPU feature detection (cpuid through the compiler's builtins on x86-64, the kernel's hwcaps on AArch64)
// and the active kernel level.
#include "runtime/cpu_features.h"

#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>  // getauxval, HWCAP_*
#endif

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "runtime/error.h"

namespace trit::runtime {
namespace {

// Physical cores: distinct (physical id, core id) pairs in /proc/cpuinfo; logical CPUs otherwise.
int count_physical_cores() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  std::string line;
  int physical = 0;
  while (std::getline(in, line)) {
    auto value = [&] { return std::atoi(line.substr(line.find(':') + 1).c_str()); };
    if (line.rfind("physical id", 0) == 0) physical = value();
    if (line.rfind("core id", 0) == 0) cores.insert({physical, value()});
  }
  const int logical = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return cores.empty() ? logical : std::min(static_cast<int>(cores.size()), logical);
}

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  // clang's __builtin_cpu_supports does not know "f16c": CPUID leaf 1, ECX bit 29.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  f.f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  // AVX-VNNI (VEX vpdpbusd): CPUID leaf 7 sub-leaf 1, EAX bit 4 (older clang builtins lack the name).
  f.avxvnni = __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 4)) != 0;
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  f.avx512vbmi = __builtin_cpu_supports("avx512vbmi");
#endif
#if defined(__aarch64__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  f.asimd = (hwcap & HWCAP_ASIMD) != 0;
  f.dotprod = (hwcap & HWCAP_ASIMDDP) != 0;
  f.fp16 = (hwcap & HWCAP_FPHP) != 0 && (hwcap & HWCAP_ASIMDHP) != 0;
  f.i8mm = (hwcap2 & HWCAP2_I8MM) != 0;
#endif
  f.n_logical_cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  f.n_physical_cores = count_physical_cores();
  return f;
}

bool supports(IsaLevel level) {
  const CpuFeatures& f = cpu_features();
  switch (level) {
    case IsaLevel::kScalar:
      return true;
    case IsaLevel::kAvx2:
      return f.avx2 && f.fma && f.f16c;
    case IsaLevel::kAvxVnni:
      return supports(IsaLevel::kAvx2) && f.avxvnni;
    case IsaLevel::kAvx512:
      return supports(IsaLevel::kAvx2) && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
    case IsaLevel::kNeon:
      return f.asimd && f.dotprod;
  }
  return false;
}

std::atomic<int> g_forced{-1};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

bool supports_isa(IsaLevel level) { return supports(level); }

IsaLevel best_isa() {
  for (IsaLevel l : {IsaLevel::kAvx512, IsaLevel::kAvxVnni, IsaLevel::kAvx2, IsaLevel::kNeon})
    if (supports(l)) return l;
  return IsaLevel::kScalar;
}

const char* isa_name(IsaLevel level) {
  switch (level) {
    case IsaLevel::kScalar:
      return "scalar";
    case IsaLevel::kAvx2:
      return "avx2";
    case IsaLevel::kAvxVnni:
      return "avxvnni";
    case IsaLevel::kAvx512:
      return "avx512";
    case IsaLevel::kNeon:
      return "neon";
  }
  return "?";
}

IsaLevel parse_isa(const std::string& name) {
  for (IsaLevel l : {IsaLevel::kScalar, IsaLevel::kAvx2, IsaLevel::kAvxVnni, IsaLevel::kAvx512, IsaLevel::kNeon})
    if (name == isa_name(l)) return l;
  trit::fail("unknown kernel level '{}' (known: scalar, avx2, avxvnni, avx512, neon)", name);
}

void set_active_isa(IsaLevel level) {
  if (!supports(level))
    trit::fail("this CPU cannot run the {} kernels (best level here: {})", isa_name(level), isa_name(best_isa()));
  g_forced = static_cast<int>(level);
}

IsaLevel active_isa() {
  const int forced = g_forced.load();
  if (forced >= 0) return static_cast<IsaLevel>(forced);
  static const IsaLevel from_env = [] {
    const char* env = std::getenv("TRIT_ISA");
    if (!env || !*env) return best_isa();
    const IsaLevel l = parse_isa(env);
    if (!supports(l))
      trit::fail("TRIT_ISA={}: this CPU cannot run those kernels (best: {})", env, isa_name(best_isa()));
    return l;
  }();
  return from_env;
}

std::string describe_cpu() {
  const CpuFeatures& f = cpu_features();
  std::string features;
  if (supports(IsaLevel::kAvx512)) features += std::string(features.empty() ? "" : ", ") + "AVX-512 VNNI";
  if (f.avx512vbmi) features += ", VBMI";
  if (supports(IsaLevel::kAvxVnni)) features += std::string(features.empty() ? "" : ", ") + "AVX-VNNI";
  if (supports(IsaLevel::kAvx2)) features += std::string(features.empty() ? "" : ", ") + "AVX2";
  if (f.asimd) features += std::string(features.empty() ? "" : ", ") + "NEON";
  if (f.dotprod) features += ", dotprod";
  if (f.fp16) features += ", fp16";
  if (f.i8mm) features += ", i8mm";
  if (features.empty()) features = "no SIMD kernels";
  return std::string(isa_name(active_isa())) + " kernels (CPU: " + features + "; " +
         std::to_string(f.n_physical_cores) + " cores, " + std::to_string(f.n_logical_cpus) + " threads)";
}

}  // namespace trit::runtime
