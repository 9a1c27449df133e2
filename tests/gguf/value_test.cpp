// gguf::Value: type names, integer/float conversions and the inspect rendering.
#include "gguf/value.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace trit::gguf {
namespace {

TEST(Value, TypeNamesFollowTheIds) {
  EXPECT_EQ(value_type_name(ValueType::UINT8), "u8");
  EXPECT_EQ(value_type_name(ValueType::UINT32), "u32");
  EXPECT_EQ(value_type_name(ValueType::FLOAT32), "f32");
  EXPECT_EQ(value_type_name(ValueType::BOOL), "bool");
  EXPECT_EQ(value_type_name(ValueType::STRING), "string");
  EXPECT_EQ(value_type_name(ValueType::ARRAY), "array");
  EXPECT_EQ(value_type_name(ValueType::INT64), "i64");
  EXPECT_EQ(value_type_name(ValueType::FLOAT64), "f64");
}

TEST(Value, TypeIsTheVariantIndex) {
  EXPECT_EQ(Value(uint8_t{1}).type(), ValueType::UINT8);
  EXPECT_EQ(Value(int16_t{1}).type(), ValueType::INT16);
  EXPECT_EQ(Value(true).type(), ValueType::BOOL);
  EXPECT_EQ(Value(std::string("x")).type(), ValueType::STRING);
  EXPECT_EQ(Value(Array{}).type(), ValueType::ARRAY);
  EXPECT_EQ(Value(uint64_t{1}).type(), ValueType::UINT64);
  EXPECT_EQ(Value(1.0).type(), ValueType::FLOAT64);
}

TEST(Value, IntegerAndFloatKinds) {
  EXPECT_TRUE(Value(int8_t{-1}).is_integer());
  EXPECT_TRUE(Value(uint64_t{1}).is_integer());
  EXPECT_FALSE(Value(true).is_integer());
  EXPECT_FALSE(Value(1.0f).is_integer());
  EXPECT_TRUE(Value(1.0f).is_float());
  EXPECT_TRUE(Value(1.0).is_float());
  EXPECT_FALSE(Value(int32_t{1}).is_float());
}

TEST(Value, ToInt64RefusesWhatDoesNotFit) {
  int64_t out = 0;
  EXPECT_TRUE(Value(int8_t{-7}).to_int64(out));
  EXPECT_EQ(out, -7);
  EXPECT_TRUE(Value(uint32_t{4000000000u}).to_int64(out));
  EXPECT_EQ(out, 4000000000);
  EXPECT_TRUE(Value(uint64_t{std::numeric_limits<int64_t>::max()}).to_int64(out));
  EXPECT_FALSE(Value(uint64_t{std::numeric_limits<uint64_t>::max()}).to_int64(out));
  EXPECT_FALSE(Value(1.5f).to_int64(out));
  EXPECT_FALSE(Value(true).to_int64(out));
  EXPECT_FALSE(Value(std::string("1")).to_int64(out));
}

TEST(Value, ToDoubleTakesFloatsAndIntegers) {
  double out = 0;
  EXPECT_TRUE(Value(0.5f).to_double(out));
  EXPECT_EQ(out, 0.5);
  EXPECT_TRUE(Value(int64_t{-3}).to_double(out));
  EXPECT_EQ(out, -3.0);
  EXPECT_FALSE(Value(false).to_double(out));
  EXPECT_FALSE(Value(Array{}).to_double(out));
}

TEST(Value, DisplayOfScalars) {
  EXPECT_EQ(Value(uint8_t{200}).to_display_string(), "200");
  EXPECT_EQ(Value(int8_t{-5}).to_display_string(), "-5");
  EXPECT_EQ(Value(true).to_display_string(), "true");
  EXPECT_EQ(Value(1e-5f).to_display_string(), "1e-05");
  EXPECT_EQ(Value(std::string("llama")).to_display_string(), "\"llama\"");
}

TEST(Value, DisplayEscapesAndCutsStrings) {
  EXPECT_EQ(Value(std::string("a\nb\0c", 5)).to_display_string(), "\"a\\nb\\x00c\"");
  EXPECT_EQ(Value(std::string(100, 'x')).to_display_string(10), "\"xxxxxxxxxx\"...");
  // A cut never splits a UTF-8 sequence: "é" is two bytes.
  EXPECT_EQ(Value(std::string("aé")).to_display_string(2), "\"a\"...");
}

TEST(Value, DisplayAbbreviatesLongArrays) {
  Array a{ValueType::INT32, {}};
  for (int32_t i = 0; i < 1000; ++i) a.items.emplace_back(i);
  const std::string s = Value(a).to_display_string(20);
  EXPECT_EQ(s.rfind("[i32; 1000] 0, 1, 2", 0), 0u) << s;
  EXPECT_EQ(s.substr(s.size() - 5), ", ...") << s;
  EXPECT_LT(s.size(), 60u);
  EXPECT_EQ(Value(Array{ValueType::STRING, {}}).to_display_string(), "[string; 0]");
}

}  // namespace
}  // namespace trit::gguf
