// The Reader on malformed files: every defect is a trit::Error whose message names the file, field and place;
// never a crash, never a huge allocation.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/ggml_type.h"
#include "gguf/reader.h"
#include "gguf_bytes.h"
#include "runtime/error.h"

namespace trit::gguf {
namespace {

using testing::GgufBytes;
using testing::parse_error;

constexpr uint32_t kF32 = static_cast<uint32_t>(GgmlType::F32);
constexpr uint32_t kQ8_0 = static_cast<uint32_t>(GgmlType::Q8_0);

#define EXPECT_ERROR_CONTAINS(bytes, fragment)                                                        \
  do {                                                                                                \
    const std::string msg_ = parse_error((bytes));                                                    \
    EXPECT_NE(msg_.find(fragment), std::string::npos) << "message: '" << msg_ << "'";                 \
    EXPECT_EQ(msg_.rfind("bad.gguf: ", 0), 0u) << "message does not name the file: '" << msg_ << "'"; \
  } while (0)

// A small valid file: three kinds of metadata, two tensors with data.
GgufBytes valid_file() {
  GgufBytes b;
  b.header(2, 4);
  b.kv_str("general.architecture", "bitnet");
  b.kv_u32("bitnet.block_count", 2);
  b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(2).str("a").str("bc");
  b.str("scores").u32(9).u32(6).u64(2).put(0.5f).put(-1.0f);
  b.tensor("w", {4, 2}, kF32, 0);
  b.tensor("q", {32}, kQ8_0, 32);
  b.pad();
  b.zeros(32 + 34);
  b.pad();
  return b;
}

size_t header_end_of_valid_file() {
  GgufBytes b;
  b.header(2, 4);
  b.kv_str("general.architecture", "bitnet");
  b.kv_u32("bitnet.block_count", 2);
  b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(2).str("a").str("bc");
  b.str("scores").u32(9).u32(6).u64(2).put(0.5f).put(-1.0f);
  b.tensor("w", {4, 2}, kF32, 0);
  b.tensor("q", {32}, kQ8_0, 32);
  return b.bytes.size();
}

TEST(GgufMalformed, TheBaseFileIsValid) {
  const auto b = valid_file();
  const auto r = Reader::from_bytes(b.bytes, "bad.gguf");
  EXPECT_EQ(r.tensors().size(), 2u);
  EXPECT_EQ(r.data_offset() % 32, 0u);
  EXPECT_EQ(r.tensor("q").n_bytes, 34u);
  EXPECT_EQ(r.get_array("tokenizer.ggml.tokens").items.size(), 2u);
}

TEST(GgufMalformed, TruncationAtEveryHeaderByteFails) {
  const auto full = valid_file().bytes;
  const size_t header_end = header_end_of_valid_file();
  const size_t data_end = Reader::from_bytes(full, "ok.gguf").data_offset() + 32 + 34;  // end of tensor 'q'
  // Every prefix that cuts the header or the second tensor's data is unusable.
  for (size_t n = 0; n < data_end; ++n) {
    const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const std::string msg = parse_error(cut);
    ASSERT_FALSE(msg.empty()) << "a file cut at byte " << n << " parsed";
    EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << msg;
    if (n < header_end) {
      EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("past the end") != std::string::npos ||
                  msg.find("more than the file can hold") != std::string::npos)
          << "cut at " << n << ": " << msg;
    }
  }
}

TEST(GgufMalformed, CorruptingAnyHeaderByteNeverCrashes) {
  const auto full = valid_file().bytes;
  const size_t header_end = header_end_of_valid_file();
  for (size_t i = 0; i < header_end; ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0x01}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff}}) {
      auto bytes = full;
      bytes[i] = v;
      try {
        Reader::from_bytes(bytes, "bad.gguf");
      } catch (const trit::Error&) {
      }
    }
  }
}

TEST(GgufMalformed, BadMagic) {
  auto b = valid_file();
  b.bytes[0] = 'g';
  EXPECT_ERROR_CONTAINS(b.bytes, "not a GGUF file: bad magic \"gGUF\" at byte 0");
  EXPECT_ERROR_CONTAINS(std::vector<uint8_t>{}, "truncated at byte 0 while reading the magic");
}

TEST(GgufMalformed, Version1IsRefused) {
  GgufBytes b;
  b.header(0, 0, 1).u32(0);
  EXPECT_ERROR_CONTAINS(b.bytes, "GGUF version 1 (byte 4) is not supported");
}

TEST(GgufMalformed, Version4IsRefused) {
  GgufBytes b;
  b.header(0, 0, 4);
  EXPECT_ERROR_CONTAINS(b.bytes, "GGUF version 4 (byte 4) is not supported; trit reads versions 2 and 3");
}

TEST(GgufMalformed, BigEndianFileIsNamed) {
  GgufBytes b;
  b.header(0, 0, 0x03000000);
  EXPECT_ERROR_CONTAINS(b.bytes, "big-endian");
}

TEST(GgufMalformed, Version2IsRead) {
  GgufBytes b;
  b.header(0, 1, 2).kv_u32("a", 7);
  const auto r = Reader::from_bytes(b.bytes, "v2.gguf");
  EXPECT_EQ(r.version(), 2u);
  EXPECT_EQ(r.get_int("a"), 7);
}

TEST(GgufMalformed, HugeStringLength) {
  GgufBytes b;
  b.header(0, 1).u64(uint64_t{1} << 60).raw("key").zeros(16);
  EXPECT_ERROR_CONTAINS(b.bytes, "the key of metadata entry 0 at byte 24 has length 1152921504606846976, past the end");
  GgufBytes v;
  v.header(0, 1).str("k").u32(8).u64(~uint64_t{0});
  EXPECT_ERROR_CONTAINS(v.bytes, "the value of metadata key 'k' at byte 37 has length 18446744073709551615");
}

TEST(GgufMalformed, HugeArrayCount) {
  GgufBytes b;
  b.header(0, 1).str("arr").u32(9).u32(0).u64(uint64_t{1} << 60).zeros(16);
  EXPECT_ERROR_CONTAINS(b.bytes, "array 'arr' at byte 39 claims 1152921504606846976 items of type u8");
  GgufBytes s;
  s.header(0, 1).str("arr").u32(9).u32(8).u64(uint64_t{1} << 60).zeros(16);
  EXPECT_ERROR_CONTAINS(s.bytes, "items of type string, past the end");
}

TEST(GgufMalformed, HugeCounts) {
  GgufBytes b;
  b.header(uint64_t{1} << 62, 0);
  EXPECT_ERROR_CONTAINS(b.bytes, "tensor count 4611686018427387904 (byte 8) is more than the file can hold");
  GgufBytes k;
  k.header(0, ~uint64_t{0});
  EXPECT_ERROR_CONTAINS(k.bytes, "metadata count 18446744073709551615 (byte 16)");
}

TEST(GgufMalformed, UnknownValueType) {
  GgufBytes b;
  b.header(0, 1).str("k").u32(13).u32(0);
  EXPECT_ERROR_CONTAINS(b.bytes, "metadata key 'k' has unknown value type id 13 (byte 33)");
  GgufBytes a;
  a.header(0, 1).str("k").u32(9).u32(200).u64(0);
  EXPECT_ERROR_CONTAINS(a.bytes, "metadata key 'k' is an array of unknown value type id 200");
}

TEST(GgufMalformed, BadBoolValue) {
  GgufBytes b;
  b.header(0, 1).str("k").u32(7).u8(2);
  EXPECT_ERROR_CONTAINS(b.bytes, "metadata key 'k' has bool value 2");
}

TEST(GgufMalformed, NestingTooDeep) {
  GgufBytes b;
  b.header(0, 1).str("deep").u32(9);
  for (int i = 0; i < 20; ++i) b.u32(9).u64(1);
  b.u32(0).u64(0);
  EXPECT_ERROR_CONTAINS(b.bytes, "metadata key 'deep' nests arrays deeper than 8 levels");
}

TEST(GgufMalformed, NestingWithinTheLimitIsRead) {
  GgufBytes b;
  b.header(0, 1).str("deep").u32(9);
  for (int i = 0; i < 7; ++i) b.u32(9).u64(1);
  b.u32(5).u64(1).u32(42);
  const auto r = Reader::from_bytes(b.bytes, "ok.gguf");
  const Array* a = r.find_array("deep");
  for (int i = 0; i < 7; ++i) a = a->items.at(0).as_array();
  EXPECT_EQ(std::get<int32_t>(a->items.at(0).storage()), 42);
}

TEST(GgufMalformed, DuplicateKey) {
  GgufBytes b;
  b.header(0, 2).kv_u32("a", 1).kv_u32("a", 2);
  EXPECT_ERROR_CONTAINS(b.bytes, "duplicate metadata key 'a' at byte 41");
}

TEST(GgufMalformed, DuplicateTensor) {
  GgufBytes b;
  b.header(2, 0).tensor("w", {4}, kF32, 0).tensor("w", {4}, kF32, 32).pad().zeros(64);
  EXPECT_ERROR_CONTAINS(b.bytes, "duplicate tensor name 'w' at byte 57");
}

TEST(GgufMalformed, UnknownTensorType) {
  GgufBytes b;
  b.header(1, 0).tensor("x", {4}, 99, 0).pad().zeros(32);
  EXPECT_ERROR_CONTAINS(b.bytes, "tensor 'x' has unknown type id 99 (byte 45)");
}

TEST(GgufMalformed, ShapeNotFittingTheType) {
  GgufBytes b;
  b.header(1, 0).tensor("x", {33, 2}, kQ8_0, 0).pad().zeros(128);
  EXPECT_ERROR_CONTAINS(b.bytes, "tensor 'x' has shape [33, 2] that type q8_0 cannot hold (block size 32)");
}

TEST(GgufMalformed, TooManyDimensions) {
  GgufBytes b;
  b.header(1, 0).tensor("x", {1, 1, 1, 1, 1}, kF32, 0).pad().zeros(32);
  EXPECT_ERROR_CONTAINS(b.bytes, "tensor 'x' has 5 dimensions (byte 33); at most 4 are allowed");
}

TEST(GgufMalformed, ZeroSizedDimensionsAreEmptyTensors) {
  GgufBytes b;
  b.header(2, 0).tensor("empty", {0, 7}, kF32, 0).tensor("w", {1}, kF32, 0).pad().zeros(32);
  const auto r = Reader::from_bytes(b.bytes, "ok.gguf");
  EXPECT_EQ(r.tensor("empty").n_bytes, 0u);
  EXPECT_TRUE(r.tensor("empty").data.empty());
  EXPECT_EQ(r.tensor("w").n_bytes, 4u);
}

TEST(GgufMalformed, DimensionProductOverflow) {
  GgufBytes b;
  b.header(1, 0).tensor("x", {uint64_t{1} << 32, uint64_t{1} << 32}, kF32, 0).pad().zeros(32);
  EXPECT_ERROR_CONTAINS(b.bytes, "tensor 'x' has shape [4294967296, 4294967296] whose element count overflows");
  GgufBytes c;
  c.header(1, 0).tensor("y", {~uint64_t{0}}, 24 /* i8 */, 0).pad().zeros(32);
  EXPECT_ERROR_CONTAINS(c.bytes, "tensor 'y' has shape [18446744073709551615] whose element count overflows");
}

TEST(GgufMalformed, MisalignedOffset) {
  GgufBytes b;
  b.header(1, 0).tensor("x", {4}, kF32, 4).pad().zeros(64);
  EXPECT_ERROR_CONTAINS(b.bytes, "tensor 'x' has data offset 4, not a multiple of the alignment 32");
}

TEST(GgufMalformed, OffsetOutOfRange) {
  GgufBytes b;
  b.header(1, 0).tensor("x", {4}, kF32, 64).pad().zeros(64);
  EXPECT_ERROR_CONTAINS(b.bytes, "tensor 'x' (offset 64, 16 bytes) ends past the end of the file (128 bytes");
  GgufBytes c;
  c.header(1, 0).tensor("x", {4}, kF32, ~uint64_t{0} - 31).pad().zeros(64);
  EXPECT_ERROR_CONTAINS(c.bytes, "ends past the end of the file");
}

TEST(GgufMalformed, OverlappingTensors) {
  GgufBytes b;
  b.header(2, 0).tensor("a", {16}, kF32, 0).tensor("b", {4}, kF32, 32).pad().zeros(128);
  EXPECT_ERROR_CONTAINS(b.bytes, "tensor 'b' (data offset 32) overlaps tensor 'a' (data offset 0, 64 bytes)");
}

TEST(GgufMalformed, BadAlignmentValue) {
  GgufBytes b;
  b.header(0, 1).kv_u32("general.alignment", 48);
  EXPECT_ERROR_CONTAINS(b.bytes, "metadata key 'general.alignment' (byte 24) is 48, expected a non-zero power of two");
  GgufBytes z;
  z.header(0, 1).kv_u32("general.alignment", 0);
  EXPECT_ERROR_CONTAINS(z.bytes, "is 0, expected a non-zero power of two");
  GgufBytes t;
  t.header(0, 1).str("general.alignment").u32(10).u64(64);
  EXPECT_ERROR_CONTAINS(t.bytes, "metadata key 'general.alignment' (byte 24) has type u64, expected u32");
}

TEST(GgufMalformed, CustomAlignmentMovesTheDataSection) {
  GgufBytes b;
  b.header(1, 1).kv_u32("general.alignment", 256).tensor("x", {4}, kF32, 0).pad(256).zeros(256);
  const auto r = Reader::from_bytes(b.bytes, "ok.gguf");
  EXPECT_EQ(r.alignment(), 256u);
  EXPECT_EQ(r.data_offset(), 256u);
  EXPECT_EQ(r.tensor("x").data.data(), b.bytes.data() + 256);
}

}  // namespace
}  // namespace trit::gguf
