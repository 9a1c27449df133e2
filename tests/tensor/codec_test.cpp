// The type dispatch: which types are supported and ternary, and errors naming the tensor.
#include "tensor/codec.h"

#include <gtest/gtest.h>

#include "make_tensor.h"
#include "runtime/error.h"

namespace trit::tensor {
namespace {

using gguf::GgmlType;
using test_util::id;
using test_util::make_tensor;

TEST(Codec, SupportedAndTernaryTypes) {
  for (auto t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0}) {
    EXPECT_TRUE(is_supported(id(t)));
    EXPECT_FALSE(is_ternary(id(t)));
  }
  for (auto t : {GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::I2_S, GgmlType::TL1, GgmlType::TL2}) {
    EXPECT_TRUE(is_supported(id(t)));
    EXPECT_TRUE(is_ternary(id(t)));
  }
  for (auto t : {GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::I8_S}) EXPECT_FALSE(is_supported(id(t)));
  EXPECT_FALSE(is_supported(99));
}

TEST(Codec, UnsupportedTypeErrorNamesTensor) {
  const std::vector<uint8_t> bytes(18, 0);
  try {
    dequantize(make_tensor(id(GgmlType::Q4_0), {32}, bytes, "token_embd.weight"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("token_embd.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("q4_0"), std::string::npos) << msg;
  }
}

TEST(Codec, UnpackTernaryRejectsFloatTypes) {
  const std::vector<uint8_t> bytes(8, 0);
  EXPECT_THROW(unpack_ternary(make_tensor(id(GgmlType::F16), {4}, bytes)), Error);
}

TEST(Codec, DequantizeRejectsTruncatedData) {
  const std::vector<uint8_t> bytes(6, 0);
  EXPECT_THROW(dequantize(make_tensor(id(GgmlType::F16), {4}, bytes)), Error);
}

TEST(Codec, F32PassesThrough) {
  const std::vector<float> x = {1.5f, -2.0f, 0.0f, 3.25f, 7.0f, -1.0f};
  const std::vector<uint64_t> shape = {3, 2};
  const auto bytes = quantize(id(GgmlType::F32), x, shape);
  EXPECT_EQ(dequantize(make_tensor(id(GgmlType::F32), shape, bytes)), x);
}

}  // namespace
}  // namespace trit::tensor
