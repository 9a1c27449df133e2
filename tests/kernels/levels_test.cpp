// Which kernel level runs: the best one the CPU supports, and on AArch64 with the dot product that is the
// NEON level (so that the cross-level tests of this binary really run NEON code under qemu). TRIT_EXPECT_ISA
// names the level the caller knows the CPU has (scripts/test-arm.sh), so a failed detection cannot pass.
#include <gtest/gtest.h>

#include <cstdlib>

#include "runtime/cpu_features.h"

namespace trit::runtime {
namespace {

TEST(KernelLevels, TheBestLevelIsSupportedAndNamed) {
  const IsaLevel best = best_isa();
  EXPECT_TRUE(supports_isa(best));
  EXPECT_TRUE(supports_isa(IsaLevel::kScalar));
  EXPECT_EQ(parse_isa(isa_name(best)), best);
  if (const char* expected = std::getenv("TRIT_EXPECT_ISA")) {
    EXPECT_STREQ(isa_name(best), expected) << describe_cpu();
  }
#if defined(__aarch64__)
  // On ARM the NEON kernels are what run when the CPU has the dot product (qemu-aarch64 -cpu max does).
  EXPECT_FALSE(supports_isa(IsaLevel::kAvx2));
  EXPECT_EQ(best, cpu_features().dotprod ? IsaLevel::kNeon : IsaLevel::kScalar);
  if (!std::getenv("TRIT_ISA")) {
    EXPECT_EQ(active_isa(), best);
  }
#else
  EXPECT_FALSE(supports_isa(IsaLevel::kNeon));
  EXPECT_NE(best, IsaLevel::kNeon);
  // x86-64 order: AVX-512 VNNI, then AVX-VNNI, then AVX2; AVX-VNNI needs the AVX2 level.
  if (supports_isa(IsaLevel::kAvxVnni)) {
    EXPECT_TRUE(supports_isa(IsaLevel::kAvx2));
  }
  const IsaLevel expected = supports_isa(IsaLevel::kAvx512)    ? IsaLevel::kAvx512
                            : supports_isa(IsaLevel::kAvxVnni) ? IsaLevel::kAvxVnni
                            : supports_isa(IsaLevel::kAvx2)    ? IsaLevel::kAvx2
                                                               : IsaLevel::kScalar;
  EXPECT_EQ(best, expected);
  EXPECT_EQ(parse_isa("avxvnni"), IsaLevel::kAvxVnni);
  EXPECT_EQ(static_cast<int>(IsaLevel::kAvxVnni), 4);  // benchmarks pass levels as ints
#endif
}

}  // namespace
}  // namespace trit::runtime
