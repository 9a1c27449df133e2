// trit::fail formats its message; TRIT_ASSERT aborts with the location.
#include <gtest/gtest.h>

#include "runtime/assert.h"
#include "runtime/error.h"

namespace trit {
namespace {

TEST(Error, FailFormatsTheMessage) {
  try {
    fail("{}: tensor '{}' ends at byte {}", "model.gguf", "blk.3.ffn_up.weight", 912);
    FAIL() << "expected trit::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "model.gguf: tensor 'blk.3.ffn_up.weight' ends at byte 912");
  }
}

TEST(AssertDeathTest, FailedAssertNamesTheExpressionAndAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(TRIT_ASSERT_MSG(1 + 1 == 3, "arithmetic"), "assertion '1 \\+ 1 == 3' failed at .*error_test.cpp");
}

}  // namespace
}  // namespace trit
